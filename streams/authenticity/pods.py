"""Engagement pods: groups of accounts early on the same creators' media again and again.

State per account: its recent early engagements (bucket, creator, media), one per media,
at most ``max_early_per_account``, forgotten after the pod window; at most
``max_early_accounts`` accounts, the least recently early leaving first. Rings are
recomputed at each bucket close from the candidates only (accounts early on enough media
of enough creators), so the pair counting stays small.

What the creators' audiences explain: a fan is early on some of its creators' media, and
two fans are rarely early on the *same* media; a fan of a pod's creators is early on a
few of the pod's posts, a member on nearly all. A link needs ``pod_min_shared`` shared
early media that are at least ``pod_min_overlap`` of *each* account's early media; a
ring is a connected group of at least ``pod_min_members`` linked accounts.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Container
from dataclasses import dataclass
from itertools import combinations

import msgspec

from campaignpulse.streams.authenticity.rules import Rules


class EarlyHit(msgspec.Struct, array_like=True, frozen=True, gc=False):
    bucket: int
    creator_id: str
    media_id: str
    published_hour: int  # the media's publication time // 1 h


@dataclass(frozen=True, slots=True)
class Ring:
    """Evidence: the members, the creators they boost, and how often they were early."""

    ring_id: str
    members: tuple[str, ...]
    targets: tuple[str, ...]
    #: distinct media of the targets with an early engagement of two or more members
    shared_media: int

    def boosts(self, creator_id: str) -> bool:
        return creator_id in self.targets


class PodDetector:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.window = rules.buckets(rules.pod_window_ms)
        #: account -> its early engagements, least recently early account first
        self.early: OrderedDict[str, list[EarlyHit]] = OrderedDict()
        #: accounts with early engagements on enough media and creators to be candidates
        #: (derived from ``early``; the window is checked when rings are made)
        self.several: set[str] = set()
        self.evicted_accounts = 0

    def add(self, actor: str, hit: EarlyHit) -> None:
        hits = self.early.get(actor)
        if hits is None:
            hits = self.early[actor] = []
        elif any(h.media_id == hit.media_id for h in hits):
            self.early.move_to_end(actor)
            return
        self.early.move_to_end(actor)
        hits.append(hit)
        del hits[:-self.rules.max_early_per_account]
        if actor not in self.several and self._enough(hits):
            self.several.add(actor)
        while len(self.early) > self.rules.max_early_accounts:
            gone, _ = self.early.popitem(last=False)
            self.several.discard(gone)
            self.evicted_accounts += 1

    def rebuild(self) -> None:
        """The candidate prefilter again from ``early`` (after a restore)."""
        self.several = {a for a, hits in self.early.items() if self._enough(hits)}

    def rings(self, bucket: int, exclude: Container[str] = ()) -> list[Ring]:
        """The rings at the close of ``bucket``, from early engagements in the window;
        accounts in ``exclude`` (flagged as bots) are no candidates."""
        rules = self.rules
        since = bucket - self.window
        media_of: dict[str, dict[str, str]] = {}  # candidate -> media -> creator
        for actor in sorted(self.several):
            if actor in exclude:
                continue
            recent = [h for h in self.early[actor] if since < h.bucket <= bucket]
            creator_of = {h.media_id: h.creator_id for h in recent}
            if (len(creator_of) >= rules.pod_min_early
                    and len(set(creator_of.values())) >= rules.pod_min_creators
                    and len({h.published_hour for h in recent}) >= rules.pod_min_hours):
                media_of[actor] = creator_of
        by_media: dict[str, list[str]] = {}
        for actor in sorted(media_of):
            for media in media_of[actor]:
                by_media.setdefault(media, []).append(actor)
        shared: Counter[tuple[str, str]] = Counter()
        for actors in by_media.values():
            shared.update(combinations(actors, 2))
        parent = {a: a for a in media_of}

        def root(a: str) -> str:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for (a, b), n in shared.items():
            larger = max(len(media_of[a]), len(media_of[b]))
            if n >= rules.pod_min_shared and n >= rules.pod_min_overlap * larger:
                ra, rb = root(a), root(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, list[str]] = {}
        for a in parent:
            groups.setdefault(root(a), []).append(a)
        rings = [self._ring(sorted(members), media_of, by_media)
                 for members in groups.values() if len(members) >= rules.pod_min_members]
        return sorted(rings, key=lambda r: r.ring_id)

    def _ring(self, members: list[str], media_of: dict[str, dict[str, str]],
              by_media: dict[str, list[str]]) -> Ring:
        engaged: dict[str, set[str]] = {}  # creator -> members early on its media
        for m in members:
            for creator in media_of[m].values():
                engaged.setdefault(creator, set()).add(m)
        targets = tuple(sorted(c for c, who in engaged.items()
                               if len(who) >= self.rules.pod_target_min_members))
        group = set(members)
        shared = sum(1 for media, actors in by_media.items()
                     if media_of[actors[0]][media] in targets
                     and len(group.intersection(actors)) >= 2)
        digest = hashlib.blake2b(members[0].encode(), digest_size=6).hexdigest()
        return Ring(f"ring-{digest}", tuple(members), targets, shared)

    def evict(self, bucket: int) -> None:
        """Forget early engagements no window ending at ``bucket`` or later can see.

        Hits are added in bucket order, so the least recently early account (first in
        ``early``) has the oldest newest hit: eviction stops at the first one to keep."""
        since = bucket - self.window
        early = self.early
        while early:
            actor, hits = next(iter(early.items()))
            if hits[-1].bucket > since:
                break
            early.popitem(last=False)
            self.several.discard(actor)
        for actor in list(self.several):
            hits = early[actor]
            if hits[0].bucket <= since:
                hits[:] = [h for h in hits if h.bucket > since]
                if not self._enough(hits):
                    self.several.discard(actor)

    def _enough(self, hits: list[EarlyHit]) -> bool:
        return (len(hits) >= self.rules.pod_min_early
                and len({h.creator_id for h in hits}) >= self.rules.pod_min_creators)
