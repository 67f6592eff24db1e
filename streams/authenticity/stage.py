"""The authenticity stage: accepted interactions, media and follower samples in, per batch;
rows of raw and authentic engagement, evidence and alerts out when a bucket closes.

Interactions are held per event-time bucket (``Rules.bucket_ms``) and judged together
when the bucket closes: when the stage's watermark has passed the bucket's end plus
``burst_ms``. The watermark is the least newest event time over the input partitions of
the three inputs, interactions (occurred), media (published) and follower samples
(observed), less the allowed lateness; a partition the engine read to its end does not
hold it back, one behind does, however long it takes. An engagement is early by its
media's publication, so a bucket waits for the media published before its end, however
the engine interleaves the topics (a backlog may deliver the interactions first).
Follower samples are held likewise and applied to the audience estimates at the closes,
in ``observed_at`` order (those observed up to the bucket's end): an alert sees the same
audience however late the samples were read. Every decision then depends on the events up
to that point, never on their arrival order, so a replay decides as the live run did. An
interaction or sample older than the watermark when it arrives is late: counted in
``late``, not judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import msgspec

from campaignpulse.streams.authenticity.accounts import AccountActivity
from campaignpulse.streams.authenticity.alerts import (
    AuthenticityAlert,
    AuthenticityAlertMonitor,
)
from campaignpulse.streams.authenticity.comments import CopyPasteIndex, bursts
from campaignpulse.streams.authenticity.followers import (
    AudienceMonitor,
    AudienceRow,
    FollowerSample,
)
from campaignpulse.streams.authenticity.outputs import (
    EXCLUSIONS,
    AuthenticityRow,
    BotAccount,
    CopyPasteCluster,
    Exclusion,
)
from campaignpulse.streams.authenticity.pods import EarlyHit, PodDetector, Ring
from campaignpulse.streams.authenticity.rules import DEFAULT_RULES, HOUR_MS, Rules
from campaignpulse.streams.authenticity.text import BandSigner, is_generic, normalise
from campaignpulse.streams.authenticity.watch import CampaignWatch
from campaignpulse.streams.campaigns.definition import EMV_KINDS, Campaign
from campaignpulse.streams.contract import (
    ENGAGEMENT_KINDS,
    INTERACTIONS_TOPIC,
    KIND_INDEX,
    MEDIA_TOPIC,
    Interaction,
    Media,
)
from campaignpulse.streams.contract_authenticity import FOLLOWER_SAMPLES_TOPIC

COMMENT = KIND_INDEX["comment"]
_SLOT = {KIND_INDEX[kind]: i for i, kind in enumerate(EMV_KINDS)}
_INPUTS = (INTERACTIONS_TOPIC, MEDIA_TOPIC, FOLLOWER_SAMPLES_TOPIC)
_REASON_SLOT = {reason: i for i, reason in enumerate(EXCLUSIONS)}


def _event_order(t: Touch) -> tuple[int, str]:
    return t.ts, t.event_id


class Touch(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """An accepted interaction held until its bucket closes."""

    ts: int
    kind: int
    event_id: str
    creator_id: str
    media_id: str
    campaign_id: str  # the campaign it counts for, or ""
    actor_id: str
    text: str | None  # normalised comment text; None for other kinds


@dataclass(slots=True)
class AuthenticityOutput:
    rows: list[AuthenticityRow] = field(default_factory=list)
    rings: list[Ring] = field(default_factory=list)  # new or changed rings
    #: the start of the bucket at whose close each of ``rings`` was seen
    ring_seen_ms: list[int] = field(default_factory=list)
    bots: list[BotAccount] = field(default_factory=list)  # accounts newly flagged
    clusters: list[CopyPasteCluster] = field(default_factory=list)
    audience: list[AudienceRow] = field(default_factory=list)
    alerts: list[AuthenticityAlert] = field(default_factory=list)
    late: int = 0


class AuthenticityStage:
    def __init__(self, allowed_lateness_ms: int, campaigns: Mapping[str, Campaign] | None = None,
                 rules: Rules = DEFAULT_RULES, audience: AudienceMonitor | None = None,
                 alerts: AuthenticityAlertMonitor | None = None,
                 partition_of: Callable[[str], int] | None = None) -> None:
        self.rules = rules
        self.allowed_lateness_ms = allowed_lateness_ms
        #: creator -> its input partition (one partition when not given)
        self.partition_of: Callable[[str], int] = partition_of or (lambda _: 0)
        #: the campaign definitions (the campaign stage's, shared): what counts for which
        self.campaigns: Mapping[str, Campaign] = campaigns if campaigns is not None else {}
        self.signer = BandSigner(rules)
        self.copies = CopyPasteIndex(rules)
        self.accounts = AccountActivity(rules)
        self.pods = PodDetector(rules)
        self.audience = audience or AudienceMonitor()
        self.alerts = alerts or AuthenticityAlertMonitor()
        self.open: dict[int, list[Touch]] = {}
        #: media id -> publication time, while an open bucket may hold its early engagement
        self.published: dict[str, int] = {}
        #: the last closed bucket's generic comments per media, for bursts across buckets
        self.generic_before: dict[str, list[tuple[int, str]]] = {}
        self.newest_ms = -1
        #: input partition -> the newest event time held from it
        self.newest: dict[int, int] = {}
        #: media partition (its creator's) -> the newest publication time read from it
        self.media_newest: dict[int, int] = {}
        #: buckets ending at or before this have been judged (-1: none)
        self.judged_ms = -1
        #: input partitions an engine assigned; one that has not delivered an interaction
        #: yet holds the watermark back (until it is idle)
        self.assigned: set[int] = set()
        #: partition -> (the engine's wall clock, the count of batches with interactions)
        #: when it last delivered one (not state: after a restore all start afresh)
        self.delivered: dict[int, tuple[int, int]] = {}
        #: the same for the media of each partition
        self.media_delivered: dict[int, tuple[int, int]] = {}
        #: creator -> follower samples read, applied at the first close past their time
        self.samples: dict[str, list[FollowerSample]] = {}
        #: sample partition (its creator's) -> the newest observation time read from it
        self.samples_newest: dict[int, int] = {}
        #: the same as ``delivered`` for the samples of each partition
        self.samples_delivered: dict[int, tuple[int, int]] = {}
        #: topic -> its partitions the engine read to their end (high watermark), as the
        #: engine last said; None: it never said (then the idle rule stands in)
        self.at_end: dict[str, frozenset[int]] | None = None
        self.batches = 0
        self.next_bucket: int | None = None  # the oldest bucket not closed yet
        #: the rings of the last close, by id
        self.rings: dict[str, Ring] = {}
        #: accounts flagged as bots -> the last bucket they were flagged in
        self.flagged: dict[str, int] = {}
        self.watch = CampaignWatch(self.campaigns, self.audience, self.alerts)
        self.late = 0

    # -- input ---------------------------------------------------------------------------

    def process(self, interactions: Iterable[tuple[Interaction, str | None]],
                media: Iterable[Media] = (), samples: Iterable[FollowerSample] = (),
                now_ms: int = 0) -> AuthenticityOutput:
        """One micro-batch: ``interactions`` are accepted ones with the comment text of
        comments (None otherwise); ``now_ms`` the engine's wall clock (idle partitions)."""
        out = AuthenticityOutput()
        late = self.late
        for m in media:
            self.media(m, now_ms)
        for sample in samples:
            self.sample(sample, now_ms)
        self.hold(interactions, now_ms)
        self.close_ready(out, now_ms)
        out.late = self.late - late
        return out

    def media(self, media: Media, now_ms: int = 0) -> None:
        self.published.setdefault(media.media_id, media.published_at_ms)
        partition = self.partition_of(media.creator_id)
        if media.published_at_ms > self.media_newest.get(partition, -1):
            self.media_newest[partition] = media.published_at_ms
        self.media_delivered[partition] = (now_ms, self.batches + 1)

    def sample(self, sample: FollowerSample, now_ms: int = 0) -> None:
        partition = self.partition_of(sample.creator_id)
        at = sample.observed_at_ms
        if at > self.samples_newest.get(partition, -1):
            self.samples_newest[partition] = at
        self.samples_delivered[partition] = (now_ms, self.batches + 1)
        if at <= self.judged_ms:  # its close has passed
            self.late += 1
            return
        self.samples.setdefault(sample.creator_id, []).append(sample)

    def hold(self, interactions: Iterable[tuple[Interaction, str | None]],
             now_ms: int = 0) -> None:
        """Hold accepted interactions for their buckets; those too late count in ``late``."""
        size = self.rules.bucket_ms
        lateness = self.allowed_lateness_ms
        newest = self.newest
        partition_of = self.partition_of
        judged = self.judged_ms + self.rules.burst_ms if self.judged_ms >= 0 else -1
        buckets = self.open
        late = 0
        delivered = self.delivered
        batch = self.batches
        for partition in self.assigned | newest.keys():
            delivered.setdefault(partition, (now_ms, batch))
        for partition in self.assigned | self.media_newest.keys():
            self.media_delivered.setdefault(partition, (now_ms, batch))
        for partition in self.assigned | self.samples_newest.keys():
            self.samples_delivered.setdefault(partition, (now_ms, batch))
        for event, text in interactions:
            ts = event.occurred_at_ms
            partition = partition_of(event.creator_id)
            delivered[partition] = (now_ms, batch + 1)
            seen = newest.get(partition, -1)
            if ts > seen:
                newest[partition] = ts
            if ts < seen - lateness or ts < judged:
                late += 1
                continue
            bucket = ts // size
            held = buckets.get(bucket)
            if held is None:
                held = buckets[bucket] = []
                if self.next_bucket is None or bucket < self.next_bucket:
                    self.next_bucket = bucket
            held.append(Touch(
                ts, event.kind, event.event_id, event.creator_id, event.media_id,
                self._campaign(event) if event.campaign_id else "", event.actor_id,
                normalise(text) if text and event.kind == COMMENT else None,
            ))
        if newest:
            self.newest_ms = max(newest.values())
        if any(d[1] > batch for d in delivered.values()):
            self.batches = batch + 1
        self.late += late

    def _campaign(self, event: Interaction) -> str:
        campaign = self.campaigns.get(event.campaign_id) if event.campaign_id else None
        if campaign is None or not campaign.covers(event.occurred_at_ms):
            return ""
        if all(c.creator_id != event.creator_id for c in campaign.creators):
            return ""
        return event.campaign_id

    # -- closing -------------------------------------------------------------------------

    def inputs_at_end(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The engine's word on which input partitions it read to their end: those no
        longer hold the watermark back (nothing more is there to read), the others do."""
        at_end: dict[str, set[int]] = {}
        for topic, partition in partitions:
            at_end.setdefault(topic, set()).add(partition)
        self.at_end = {t: frozenset(at_end.get(t, ())) for t in _INPUTS}

    def watermark(self, now_ms: int = 0) -> int:
        """The least newest event time of the input partitions (interactions, media and
        follower samples), less the lateness. A partition the engine read to its end
        (``inputs_at_end``) after it delivered something does not hold it back; one
        behind does, however long it takes. A partition that never delivered anything
        holds it back until it is idle: silent for ``idle_partition_wall_ms`` of the
        engine's clock and ``idle_partition_batches`` batches with interactions, and read
        to its end (a producer may still be writing its topic: a backlog's media after
        its interactions). While the engine never said where its inputs end, that idle
        rule is the only one (a bound on the state)."""
        if not self.newest:
            return -1
        rules = self.rules
        since = (now_ms - rules.idle_partition_wall_ms, self.batches - rules.idle_partition_batches)
        at_end = self.at_end
        times = []
        for topic, newest, delivered in (
                (INTERACTIONS_TOPIC, self.newest, self.delivered),
                (MEDIA_TOPIC, self.media_newest, self.media_delivered),
                (FOLLOWER_SAMPLES_TOPIC, self.samples_newest, self.samples_delivered)):
            ended = at_end[topic] if at_end is not None else None
            for p in self.assigned | newest.keys():
                seen = newest.get(p, -1)
                if ended is not None and p not in ended:
                    times.append(seen)  # behind: more is there to read
                elif (seen < 0 or ended is None) and not self._idle(delivered.get(p), since):
                    times.append(seen)
        return min(times, default=self.newest_ms) - self.allowed_lateness_ms

    @staticmethod
    def _idle(delivered: tuple[int, int] | None, since: tuple[int, int]) -> bool:
        return delivered is not None and delivered[0] < since[0] and delivered[1] < since[1]

    def close_ready(self, out: AuthenticityOutput, now_ms: int = 0) -> None:
        watermark = self.watermark(now_ms)
        size = self.rules.bucket_ms
        while (self.next_bucket is not None
               and (self.next_bucket + 1) * size + self.rules.burst_ms <= watermark):
            self._close(self.next_bucket, out)

    def flush(self) -> AuthenticityOutput:
        """Close every open bucket (the end of a bounded input)."""
        out = AuthenticityOutput()
        while self.open:
            assert self.next_bucket is not None  # noqa: S101 - open buckets exist
            self._close(self.next_bucket, out)
        self._apply_samples(None, out)
        return out

    def _apply_samples(self, until_ms: int | None, out: AuthenticityOutput) -> None:
        """The held samples observed up to ``until_ms`` (all: None) into the audience, in
        observation order; the changed estimates and the alerts they give."""
        due: list[FollowerSample] = []
        for creator, held in list(self.samples.items()):
            keep = [] if until_ms is None else [s for s in held if s.observed_at_ms > until_ms]
            if len(keep) == len(held):
                continue
            due.extend(s for s in held if until_ms is None or s.observed_at_ms <= until_ms)
            if keep:
                self.samples[creator] = keep
            else:
                del self.samples[creator]
        due.sort(key=lambda s: (s.observed_at_ms, s.creator_id, s.follower_id))
        for sample in due:
            self.audience.add(sample)
        for creator_id in sorted({s.creator_id for s in due}):
            row = self.audience.estimate(creator_id)
            if row is not None:
                out.audience.append(row)
                out.alerts.extend(self.watch.audience_changed(row))

    def _close(self, bucket: int, out: AuthenticityOutput) -> None:
        rules = self.rules
        self._evict(bucket)
        # in event order: what a bucket decides (down to the example text of a cluster)
        # does not depend on how partitions interleaved, nor on a restore
        touches = sorted(self.open.pop(bucket, []), key=_event_order)
        start = bucket * rules.bucket_ms
        self._apply_samples(start + rules.bucket_ms, out)
        self.judged_ms = max(self.judged_ms, start + rules.bucket_ms)
        self.next_bucket = min(self.open) if self.open else None
        published = self.published
        early_ms = rules.early_ms
        engaged: list[tuple[str, str]] = []
        early: dict[int, int] = {}  # index -> publication hour of its media
        comments: list[int] = []
        for i, t in enumerate(touches):
            if t.kind in ENGAGEMENT_KINDS:
                engaged.append((t.actor_id, t.creator_id))
                at = published.get(t.media_id)
                if at is not None and 0 <= t.ts - at < early_ms:
                    early[i] = at // HOUR_MS
                if t.text is not None:
                    comments.append(i)
        heavy = self.accounts.engaged(bucket, engaged)
        flagged = self._copy_paste(bucket, touches, comments, out)
        flagged.update(self._bursts(bucket, touches, comments))
        for i in sorted(flagged):
            self.accounts.flag_comment(touches[i].actor_id, bucket, touches[i].creator_id)
        # in event order, so the accounts' recency (what the caps drop first) is the same
        # whatever the arrival order
        for i in sorted(early, key=lambda i: (touches[i].ts, touches[i].event_id)):
            t = touches[i]
            self.pods.add(t.actor_id, EarlyHit(bucket, t.creator_id, t.media_id, early[i]))
        bots = self._bot_verdicts(bucket, touches, heavy, out)
        rings = self.pods.rings(bucket, exclude=self.flagged)
        self._ring_evidence(rings, out, start)
        ring_of = {m: r for r in rings for m in r.members}
        pod_early = {i for i in early if (ring := ring_of.get(touches[i].actor_id)) is not None
                     and ring.boosts(touches[i].creator_id)}
        self._rows(start, touches, bots, flagged, pod_early, out)

    def _rows(self, start: int, touches: list[Touch], bots: set[str],
              flagged: dict[int, Exclusion], pod_early: set[int],
              out: AuthenticityOutput) -> None:
        excluded: dict[int, int] = {i: _REASON_SLOT[r] for i, r in flagged.items()}
        for i in pod_early:
            excluded.setdefault(i, _REASON_SLOT[Exclusion.POD])
        bot_slot = _REASON_SLOT[Exclusion.BOT_ACCOUNT]
        rows: dict[tuple[str, str, str], AuthenticityRow] = {}
        slots = _SLOT
        for i, t in enumerate(touches):
            key = (t.creator_id, t.media_id, t.campaign_id)
            row = rows.get(key)
            if row is None:
                row = rows[key] = AuthenticityRow.empty(start, *key)
            row.events += 1
            slot = slots.get(t.kind)
            reason = bot_slot if bots and t.actor_id in bots else excluded.get(i)
            if slot is None:
                continue
            row.raw[slot] += 1
            if reason is None:
                row.authentic[slot] += 1
            elif t.kind in ENGAGEMENT_KINDS:
                row.excluded[reason] += 1
        out.rows.extend(rows[key] for key in sorted(rows))
        out.alerts.extend(self.watch.rows(rows.values(), start + self.rules.bucket_ms))

    def _copy_paste(self, bucket: int, touches: list[Touch], comments: list[int],
                    out: AuthenticityOutput) -> dict[int, Exclusion]:
        rules = self.rules
        specific = [i for i in comments
                    if not is_generic(touches[i].text or "", rules.generic_max_words)]
        keys = self.signer.keys([touches[i].text or "" for i in specific])
        for i, k in zip(specific, keys, strict=True):
            t = touches[i]
            self.copies.add(k, t.actor_id, t.creator_id, t.ts, t.text or "", bucket)
        since = (bucket + 1) * rules.bucket_ms - rules.copy_window_ms
        flagged: dict[int, Exclusion] = {}
        clusters: dict[tuple[int, int], CopyPasteCluster] = {}
        for i, k in zip(specific, keys, strict=True):
            if not self.copies.copied(k, since):
                continue
            flagged[i] = Exclusion.COPY_PASTE
            widest = self.copies.widest(k)
            if widest is not None:
                band, state = widest
                found = clusters.get(band)
                clusters[band] = CopyPasteCluster(
                    f"text-{band[0]}-{band[1]:016x}", state.example,
                    tuple(sorted(state.accounts)), tuple(sorted(state.creators)),
                    bucket * rules.bucket_ms, 1 + (found.comments if found else 0))
        out.clusters.extend(clusters[k] for k in sorted(clusters))
        return flagged

    def _bursts(self, bucket: int, touches: list[Touch],
                comments: list[int]) -> dict[int, Exclusion]:
        rules = self.rules
        end = (bucket + 1) * rules.bucket_ms
        mine: dict[str, list[tuple[int, str, int]]] = {}  # media -> (ts, actor, index)
        for i in comments:
            t = touches[i]
            if is_generic(t.text or "", rules.generic_max_words):
                mine.setdefault(t.media_id, []).append((t.ts, t.actor_id, i))
        after: dict[str, list[tuple[int, str, int]]] = {}
        for t in self.open.get(bucket + 1, ()):
            if (t.text is not None and t.ts < end + rules.burst_ms and t.media_id in mine
                    and is_generic(t.text, rules.generic_max_words)):
                after.setdefault(t.media_id, []).append((t.ts, t.actor_id, -1))
        before = self.generic_before
        flagged: dict[int, Exclusion] = {}
        for media, generic in mine.items():
            near = [(ts, a, -1) for ts, a in before.get(media, ())
                    if ts >= bucket * rules.bucket_ms - rules.burst_ms]
            seq = sorted(near + generic + after.get(media, []))
            for j in bursts([(ts, a) for ts, a, _ in seq], rules):
                if seq[j][2] >= 0:
                    flagged[seq[j][2]] = Exclusion.BURST
        self.generic_before = {m: [(ts, a) for ts, a, _ in c] for m, c in mine.items()}
        return flagged

    def _bot_verdicts(self, bucket: int, touches: list[Touch], heavy: set[str],
                      out: AuthenticityOutput) -> set[str]:
        """Accounts of this bucket the bot rules flag: only those at the rate rule's count
        or with copy-paste or burst comments can be."""
        suspects = set(heavy)
        if self.accounts.suspicious:
            suspects.update(t.actor_id for t in touches
                            if t.actor_id in self.accounts.suspicious)
        bots: set[str] = set()
        for actor in sorted(suspects):
            reasons = self.accounts.reasons(actor, bucket)
            if not reasons:
                continue
            bots.add(actor)
            if actor not in self.flagged:
                creators = sorted({t.creator_id for t in touches if t.actor_id == actor})
                out.bots.append(BotAccount(actor, tuple(r.value for r in reasons),
                                           bucket * self.rules.bucket_ms, tuple(creators)))
            self.flagged[actor] = bucket
        return bots

    def _ring_evidence(self, rings: list[Ring], out: AuthenticityOutput, start: int) -> None:
        for ring in rings:
            if self.rings.get(ring.ring_id) != ring:
                out.rings.append(ring)
                out.ring_seen_ms.append(start)
        self.rings = {r.ring_id: r for r in rings}

    def _evict(self, bucket: int) -> None:
        """Forget, before closing ``bucket``, what no window ending there can see."""
        rules = self.rules
        start = bucket * rules.bucket_ms
        self.accounts.evict(bucket)
        self.pods.evict(bucket)
        self.copies.evict(start + rules.bucket_ms - rules.copy_window_ms,
                          bucket + 1 - rules.buckets(rules.copy_window_ms))
        oldest = start - rules.early_ms
        for media_id in [m for m, at in self.published.items() if at < oldest]:
            del self.published[media_id]
        horizon = bucket - rules.buckets(rules.bot_window_ms)
        for actor in [a for a, b in self.flagged.items() if b <= horizon]:
            del self.flagged[actor]

    def state_size(self) -> Counter[str]:
        """How many entries each operator holds (the bound a long stream must keep)."""
        return Counter({
            "open_touches": sum(len(v) for v in self.open.values()),
            "published_media": len(self.published),
            "rate_cells": sum(len(v) for v in self.accounts.rate.values()),
            "suspicious_accounts": len(self.accounts.suspicious),
            "early_accounts": len(self.pods.early),
            "text_bands": len(self.copies.bands),
            "cached_texts": self.signer.cached(),
            "flagged_bots": len(self.flagged),
            "audience_creators": len(self.audience.creators),
            "held_samples": sum(len(v) for v in self.samples.values()),
            "campaign_totals": len(self.watch.totals),
        })
