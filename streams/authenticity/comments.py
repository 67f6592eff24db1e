"""Copy-paste comments (near-duplicates across accounts and creators) and generic bursts.

State per LSH band key: the most recent accounts and creators whose comments fell on it,
with their newest event time. A comment's near-duplicates are the comments that share
one of its band keys, so the accounts (creators) near it in a window are the union over
its keys. Keeping the ``keep`` most recent per key answers "at least n in the window"
exactly for any n ≤ ``keep``: a dropped entry is older than every kept one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from campaignpulse.streams.authenticity.rules import Rules
from campaignpulse.streams.authenticity.text import BandKey

#: evidence texts are cut to this many characters
EXAMPLE_CHARS = 200


class BandState(msgspec.Struct):
    """One band key: account -> newest event time, creator -> newest event time."""

    accounts: dict[str, int]
    creators: dict[str, int]
    newest_ms: int
    example: str  # a comment text on this key (evidence)


def _keep_recent(entries: dict[str, int], name: str, ts: int, keep: int) -> None:
    if entries.get(name, -1) < ts:
        entries[name] = ts
    if len(entries) > keep:
        del entries[min(entries, key=lambda n: (entries[n], n))]


class CopyPasteIndex:
    def __init__(self, rules: Rules, keep: int = 8) -> None:
        self.rules = rules
        self.keep = max(keep, rules.copy_min_accounts, rules.copy_min_creators)
        self.bands: dict[BandKey, BandState] = {}
        #: bucket -> keys touched in it, to find what may have expired
        self._touched: dict[int, set[BandKey]] = {}

    def add(self, keys: Iterable[BandKey], actor: str, creator: str, ts: int, text: str,
            bucket: int) -> None:
        touched = self._touched.setdefault(bucket, set())
        for key in keys:
            state = self.bands.get(key)
            if state is None:
                state = self.bands[key] = BandState({}, {}, ts, text[:EXAMPLE_CHARS])
            _keep_recent(state.accounts, actor, ts, self.keep)
            _keep_recent(state.creators, creator, ts, self.keep)
            state.newest_ms = max(state.newest_ms, ts)
            touched.add(key)

    def copied(self, keys: Iterable[BandKey], since_ms: int) -> bool:
        """Whether near-duplicates at or after ``since_ms`` come from enough accounts on
        enough creators."""
        want_accounts, want_creators = self.rules.copy_min_accounts, self.rules.copy_min_creators
        accounts: set[str] = set()
        creators: set[str] = set()
        for key in keys:
            state = self.bands.get(key)
            if state is None or state.newest_ms < since_ms:
                continue
            accounts.update(a for a, t in state.accounts.items() if t >= since_ms)
            creators.update(c for c, t in state.creators.items() if t >= since_ms)
            if len(accounts) >= want_accounts and len(creators) >= want_creators:
                return True
        return False

    def widest(self, keys: Iterable[BandKey]) -> tuple[BandKey, BandState] | None:
        """The key with the most accounts, as the evidence of a copy-paste comment."""
        found = [(k, self.bands[k]) for k in keys if k in self.bands]
        return max(found, key=lambda kv: (len(kv[1].accounts), kv[0]), default=None)

    def rebuild(self, bucket_ms: int) -> None:
        """The eviction queue again from the bands' newest times (after a restore)."""
        self._touched = {}
        for key, state in self.bands.items():
            self._touched.setdefault(state.newest_ms // bucket_ms, set()).add(key)

    def evict(self, before_ms: int, before_bucket: int) -> None:
        for bucket in [b for b in self._touched if b < before_bucket]:
            for key in self._touched.pop(bucket):
                state = self.bands.get(key)
                if state is not None and state.newest_ms < before_ms:
                    del self.bands[key]


def bursts(comments: Sequence[tuple[int, str]], rules: Rules) -> set[int]:
    """Indexes of the generic comments of one media, as (event time, account) sorted by
    time, that lie in an interval of ``burst_ms`` holding ``burst_min_accounts`` accounts."""
    flagged: set[int] = set()
    end = 0
    for start, (ts, _) in enumerate(comments):
        end = max(end, start)
        while end < len(comments) and comments[end][0] < ts + rules.burst_ms:
            end += 1
        if len({a for _, a in comments[start:end]}) >= rules.burst_min_accounts:
            flagged.update(range(start, end))
    return flagged
