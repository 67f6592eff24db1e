"""One clock rule for every watermark: live, in a backlog and in replay alike.

A creator's watermark is its newest interaction time minus the allowed lateness; an
event older than that is late. What an event may claim as "newest" is capped twice, by
things that travel with the records, never by the worker's wall clock (a replay runs
later, and a backlog's events are all behind it):

* the record's clock: the producer's ``campaignpulse.published_at`` header, else the
  record's Kafka timestamp (CreateTime as the producer set it, or LogAppendTime);
* the partition's clock: the median of the last five interaction times read from the
  same input partition, each capped by its own record's clock; none before five.

An event claims ``min(its time, its record's clock, its partition's clock)``. One event
from the future, with or without a header, moves the median by at most one place among
its neighbours, so it cannot make a backlog's real events late; neither can two. The
partition clock is state (table ``clocks``), so a restart continues it, and it depends
only on the last five interaction records of the partition, so a replay that starts a
little earlier reaches it exactly.
"""

from __future__ import annotations

from campaignpulse.streams.state.store import Store

#: interaction records whose median is the partition's clock
WINDOW = 5
_MIDDLE = WINDOW // 2


def record_clock(published_ms: int, timestamp_ms: int) -> int:
    """The clock a record carries: the producer's header, else its Kafka timestamp; -1
    when it has neither."""
    return published_ms if published_ms >= 0 else max(timestamp_ms, -1)


class PartitionClocks:
    def __init__(self, store: Store | None = None) -> None:
        store = store if store is not None else Store()
        self._table = store.structs("clocks", list[int])
        self._rings = self._table.values

    def progress(self, partition: int, ts: int, clock: int) -> int:
        """How far an interaction at ``ts`` in a record with ``clock`` may move its
        creator's watermark; the partition's clock then learns from it."""
        believed = ts if clock < 0 or ts <= clock else clock
        ring = self._rings.get(partition)
        if ring is None:
            ring = []
            self._table.put(partition, ring, partition)
        else:
            self._table.touch(partition)
        capped = sorted(ring)[_MIDDLE] if len(ring) == WINDOW else -1
        ring.append(believed)
        if len(ring) > WINDOW:
            del ring[0]
        return believed if believed <= capped else capped

    def clock(self, partition: int) -> int:
        """The partition's clock now (-1 before it has read five interactions)."""
        ring = self._rings.get(partition)
        return sorted(ring)[_MIDDLE] if ring is not None and len(ring) == WINDOW else -1
