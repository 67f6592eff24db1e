"""Checkpoints as changelog records, and records back into state. Pure: no Kafka here.

Layout of the compacted changelog (one partition per input partition, record for input
partition k on changelog partition k):

* key ``("c", creator)`` -> :class:`CreatorRecord`: the creator's watermark, the offset
  of its newest decided interaction, how many event chunks each open hour has, and its
  whole follower-spike state (detector, baseline, engagement ring, open alert);
* key ``("e", creator, hour, n)`` -> a list of :class:`EventRow`: the n-th chunk of the
  events accepted in an open hour, at most ``EVENTS_PER_CHUNK`` per chunk. Chunks are
  written once and never rewritten; a closed hour's chunks are deleted (null values).

The accepted events of an open hour are the least state every open window and every
remembered event id derives from, so restoring rebuilds exactly what the live run had.
Keys and values are msgpack; a record that does not decode into these types is skipped
and counted, never executed.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from campaignpulse.streams.spikes.monitor import (
    FollowerSpikeMonitor,
    export_creator,
    restore_creator,
)
from campaignpulse.streams.state.records import CreatorRecord, EventRow, WindowsState
from campaignpulse.streams.windows import EngagementAggregator

#: (changelog partition, key, value or None for a deletion)
ChangelogRecord = tuple[int, bytes, bytes | None]

_encode = msgspec.msgpack.Encoder().encode
_key_decoder = msgspec.msgpack.Decoder(tuple[str | int, ...])
_creator_decoder = msgspec.msgpack.Decoder(CreatorRecord)
_chunk_decoder = msgspec.msgpack.Decoder(list[EventRow])


def creator_key(creator_id: str) -> bytes:
    return _encode(("c", creator_id))


def chunk_key(creator_id: str, hour: int, n: int) -> bytes:
    return _encode(("e", creator_id, hour, n))


def checkpoint_records(
    aggregator: EngagementAggregator,
    monitor: FollowerSpikeMonitor,
    partition_of: Callable[[str], int | None],
    now_ms: int,
    idle_ms: int | None = None,
) -> list[ChangelogRecord]:
    """Everything that changed since the last checkpoint, in write order per creator:
    its new chunks and deletions first, its header last, so a header never names a chunk
    that is not durable before it."""
    out: list[ChangelogRecord] = []
    written: set[str] = set()
    for delta in aggregator.checkpoint(now_ms, idle_ms):
        cid = delta.creator_id
        for hour, n, rows in delta.chunks:
            out.append((delta.partition, chunk_key(cid, hour, n), _encode(rows)))
        for hour, n in delta.tombstones:
            out.append((delta.partition, chunk_key(cid, hour, n), None))
        record = CreatorRecord(delta.partition, delta.header, export_creator(monitor, cid))
        out.append((delta.partition, creator_key(cid), _encode(record)))
        written.add(cid)
    for cid in monitor.changed - written:
        header = aggregator.header(cid)
        partition = header[0] if header is not None else partition_of(cid)
        if partition is None:
            continue  # not this worker's creator (e.g. only mentioned in a caption)
        record = CreatorRecord(
            partition, header[1] if header else None, export_creator(monitor, cid)
        )
        out.append((partition, creator_key(cid), _encode(record)))
    monitor.changed.clear()
    return out


@dataclass
class RestoreReport:
    records: int = 0
    creators: int = 0
    events: int = 0
    #: records that did not decode, or chunks a header names that were not found
    refused: int = 0
    missing_chunks: int = 0
    partitions: dict[int, int] = field(default_factory=dict)


class StateRestorer:
    """Collects changelog records (newest value per key wins), then rebuilds the state."""

    def __init__(self) -> None:
        self._latest: dict[bytes, bytes | None] = {}
        self.report = RestoreReport()

    def add(self, key: bytes | None, value: bytes | None) -> None:
        self.report.records += 1
        if key is not None:
            self._latest[key] = value

    def add_all(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        for key, value in records:
            self.add(key, value)

    def apply(
        self, aggregator: EngagementAggregator, monitor: FollowerSpikeMonitor
    ) -> RestoreReport:
        # Millions of small objects and no cycles among them: the cyclic collector would
        # rescan the growing heap over and over (it tripled the time here).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._apply(aggregator, monitor)
        finally:
            if collecting:
                gc.enable()

    def _apply(
        self, aggregator: EngagementAggregator, monitor: FollowerSpikeMonitor
    ) -> RestoreReport:
        report = self.report
        creators: dict[str, CreatorRecord] = {}
        chunks: dict[tuple[str, int, int], bytes] = {}
        for raw_key, raw_value in self._latest.items():
            if raw_value is None:
                continue
            try:
                key = _key_decoder.decode(raw_key)
                match key:
                    case ("c", str(cid)):
                        creators[cid] = _creator_decoder.decode(raw_value)
                    case ("e", str(cid), int(hour), int(n)):
                        chunks[(cid, hour, n)] = raw_value
                    case _:
                        report.refused += 1
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
                report.refused += 1
        self._latest = {}
        for cid, record in creators.items():
            try:
                if record.windows is not None:
                    hours = self._hours(cid, record.windows, chunks)
                    aggregator.restore(cid, record.partition, record.windows, hours)
                    report.events += sum(len(rows) for rows in hours.values())
                if record.monitor is not None:
                    restore_creator(monitor, cid, record.monitor)
            except (ValueError, msgspec.DecodeError, msgspec.ValidationError):
                report.refused += 1
                continue
            report.creators += 1
            report.partitions[record.partition] = report.partitions.get(record.partition, 0) + 1
        return report

    def _hours(
        self, cid: str, header: WindowsState, chunks: dict[tuple[str, int, int], bytes]
    ) -> dict[int, list[EventRow]]:
        hours: dict[int, list[EventRow]] = {}
        if header.retired:
            return hours
        for hour, count in header.hours.items():
            rows = hours[hour] = []
            for n in range(count):
                raw = chunks.get((cid, hour, n))
                if raw is None:
                    self.report.missing_chunks += 1
                    continue
                rows.extend(_chunk_decoder.decode(raw))
        return hours
