"""Hold each follower snapshot until the engagement of the same moment has been read.

Snapshots and interactions travel on different topics, and a consumer may read one far
ahead of the other. Judging a jump before its engagement is in would call a viral post
"growth without engagement". Both topics are keyed by creator; with the same partitioner
on both, partition *k* of ``ig.followers`` and of ``ig.interactions`` hold the same
creators. A snapshot is released once its creator's interactions partition has reached its
event time, or after ``max_wait_ms`` of wall clock when the interactions are quiet, so an
alert is never held for long. The creator's interactions partition is the one they were
last read from; until then it is assumed to be the snapshot's own number. Producers that
disagree on the partitioner (kcat's default vs murmur2) thus still wait on the right
partition; each such snapshot is counted in ``mismatches``.
"""

from __future__ import annotations

from collections.abc import Iterable

from campaignpulse.streams.contract import FollowerSnapshot


class EngagementGate:
    def __init__(self, max_wait_ms: int = 2_000) -> None:
        self.max_wait_ms = max_wait_ms
        self._held: list[tuple[int, int, FollowerSnapshot, int]] = []
        self._read_until: dict[int, int] = {}
        #: creator -> the interactions partition its events were last read from
        self._creator_partition: dict[str, int] = {}
        #: snapshots released whose creator's interactions are on another partition number
        self.mismatches = 0

    def __len__(self) -> int:
        return len(self._held)

    def interactions_read(self, partition: int, newest_ms: int) -> None:
        if newest_ms > self._read_until.get(partition, -1):
            self._read_until[partition] = newest_ms

    def interactions_seen(self, creator_partition: dict[str, int]) -> None:
        self._creator_partition.update(creator_partition)

    def take_mismatches(self) -> int:
        """The mismatches counted since the last call (for a metric)."""
        taken, self.mismatches = self.mismatches, 0
        return taken

    def hold(self, partition: int, offset: int, snapshot: FollowerSnapshot, now_ms: int) -> None:
        self._held.append((partition, offset, snapshot, now_ms))

    def release(self, now_ms: int, everything: bool = False) -> list[FollowerSnapshot]:
        """Snapshots ready to judge, oldest event first."""
        ready: list[FollowerSnapshot] = []
        kept = []
        for item in self._held:
            partition, _, snapshot, since = item
            wait_on = self._creator_partition.get(snapshot.creator_id, partition)
            if (everything or now_ms - since >= self.max_wait_ms
                    or snapshot.observed_at_ms <= self._read_until.get(wait_on, -1)):
                ready.append(snapshot)
                self.mismatches += wait_on != partition
            else:
                kept.append(item)
        self._held = kept
        ready.sort(key=lambda s: s.observed_at_ms)
        return ready

    def first_offsets(self) -> dict[int, int]:
        """Per followers partition, the first offset still held: commits must stop there."""
        first: dict[int, int] = {}
        for partition, offset, _, _ in self._held:
            first[partition] = min(offset, first.get(partition, offset))
        return first

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        gone = set(partitions)
        self._held = [h for h in self._held if h[0] not in gone]
        for p in gone:
            self._read_until.pop(p, None)
        self._creator_partition = {
            c: p for c, p in self._creator_partition.items() if p not in gone
        }
