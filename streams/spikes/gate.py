"""Hold each follower snapshot until the engagement of the same moment has been read.

Snapshots and interactions travel on different topics, and a consumer may read one far
ahead of the other. Judging a jump before its engagement is in would call a viral post
"growth without engagement". Both topics are keyed by creator; with the same partitioner
on both, partition *k* of ``ig.followers`` and of ``ig.interactions`` hold the same
creators. A snapshot is released once its creator's interactions partition has reached its
event time, or, when the interactions are quiet, once that partition has been read to its
end and ``max_wait_ms`` of wall clock has passed (engagement of the same moment may still be
on its way from the producer). A partition that is behind (a backlog, a replay, a loaded
worker) is never given up on by the wall clock alone, so live and replayed runs decide
alike; only after ``max_hold_ms`` does a snapshot go without its engagement (an engine that
cannot tell a partition's end). The creator's interactions partition is the one they were
last read from; until then it is assumed to be the snapshot's own number. Producers that
disagree on the partitioner (kcat's default vs murmur2) thus still wait on the right
partition; each such snapshot is counted in ``mismatches``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from campaignpulse.streams.contract import FollowerSnapshot
from campaignpulse.streams.state.store import Store


class HeldSnapshot(msgspec.Struct, array_like=True, frozen=True):
    creator_id: str
    followers_count: int
    follows_count: int
    observed_at_ms: int


def _snapshot(held: HeldSnapshot) -> FollowerSnapshot:
    return FollowerSnapshot(held.creator_id, held.followers_count, held.follows_count,
                            held.observed_at_ms)


class EngagementGate:
    """Held snapshots (table ``held``, by partition and offset) and how far each
    interactions partition was read (table ``read_until``) are state: a commit passes a
    held snapshot, and a restart or a new owner judges it from there."""

    def __init__(self, max_wait_ms: int = 2_000, store: Store | None = None,
                 interactions_partition: Callable[[str], int | None] | None = None,
                 max_hold_ms: int = 60_000) -> None:
        store = store if store is not None else Store()
        self.max_wait_ms = max_wait_ms
        self.max_hold_ms = max_hold_ms
        #: interactions partitions the engine last found read to their end (not state)
        self._at_end: frozenset[int] = frozenset()
        self._held = store.structs("held", HeldSnapshot)
        self._read = store.structs("read_until", int)
        #: wall clock each snapshot started waiting (not state: a restored one waits anew)
        self._since: dict[tuple[int, int], int] = {}
        #: creator -> the interactions partition its events were read from
        self._interactions_partition = interactions_partition or (lambda _creator: None)
        #: snapshots released whose creator's interactions are on another partition number
        self.mismatches = 0

    def __len__(self) -> int:
        return len(self._held)

    def interactions_read(self, partition: int, newest_ms: int) -> None:
        if newest_ms > self._read.values.get(partition, -1):
            self._read.put(partition, newest_ms, partition)

    def interactions_at_end(self, partitions: Iterable[int]) -> None:
        """The interactions partitions read to their end as of the engine's last fetch."""
        self._at_end = frozenset(partitions)

    def take_mismatches(self) -> int:
        """The mismatches counted since the last call (for a metric)."""
        taken, self.mismatches = self.mismatches, 0
        return taken

    def hold(self, partition: int, offset: int, snapshot: FollowerSnapshot, now_ms: int) -> None:
        key = (partition, offset)
        self._held.put(key, HeldSnapshot(snapshot.creator_id, snapshot.followers_count,
                                         snapshot.follows_count, snapshot.observed_at_ms),
                       partition)
        self._since[key] = now_ms

    def release(self, now_ms: int, everything: bool = False) -> list[tuple[FollowerSnapshot, int]]:
        """Snapshots ready to judge with their partition, oldest event first."""
        ready: list[tuple[FollowerSnapshot, int]] = []
        read = self._read.values
        for key, held in list(self._held.values.items()):
            partition = key[0]
            since = self._since.setdefault(key, now_ms)
            wait_on = self._interactions_partition(held.creator_id)
            if wait_on is None:
                wait_on = partition
            waited = now_ms - since
            if (everything or held.observed_at_ms <= read.get(wait_on, -1)
                    or waited >= self.max_wait_ms and wait_on in self._at_end
                    or waited >= self.max_hold_ms):
                ready.append((_snapshot(held), partition))
                self.mismatches += wait_on != partition
                self._held.delete(key)
                self._since.pop(key, None)
        if len(self._since) > len(self._held):  # partitions dropped meanwhile
            self._since = {k: v for k, v in self._since.items() if k in self._held.values}
        ready.sort(key=lambda pair: pair[0].observed_at_ms)
        return ready
