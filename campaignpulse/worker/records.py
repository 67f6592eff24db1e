"""The one adapter from a Kafka message to the core's :class:`RawRecord`.

The worker, the definitions feed and ``replay`` all read records through it, so each of
them sees the same record clock: the producer's ``campaignpulse.published_at`` header and
the record's Kafka timestamp travel into the core with the record, and the core's clock
rule (``streams/clock.py``) decides from them alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from aiokafka.errors import IllegalStateError

from campaignpulse.producers.publisher import PUBLISHED_AT_HEADER, PublishReport
from campaignpulse.streams.pipeline import RawRecord

#: the longest epoch-ms value a header may carry (year 2286 has 14 digits)
_MAX_DIGITS = 15


class Message(Protocol):
    """What aiokafka's and kafka-python's consumer records both have."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: Any


def published_ms(headers: Sequence[tuple[str, bytes]] | None) -> int:
    """The producer's clock from the ``campaignpulse.published_at`` header (epoch ms in
    ASCII digits), or -1 when the record has none or it is not a number."""
    for name, value in headers or ():
        if name == PUBLISHED_AT_HEADER:
            ok = value and len(value) <= _MAX_DIGITS and value.isdigit()
            return int(value) if ok else -1
    return -1


def raw_record(topic: str, partition: int, message: Message) -> RawRecord:
    timestamp = message.timestamp if message.timestamp is not None else -1
    return RawRecord(topic, partition, message.offset, message.key, message.value, timestamp,
                     published_ms(message.headers))


def faust_raw_record(message: Any) -> RawRecord:
    """A Faust event's message (``faust.types.Message``): its timestamp is in seconds."""
    seconds = message.timestamp
    timestamp = round(seconds * 1000) if seconds is not None else -1
    return RawRecord(message.topic, message.partition, message.offset, message.key,
                     message.value, timestamp, published_ms(message.headers))


def raw_records(batch: Mapping[Any, Sequence[Message]],
                positions: Mapping[tuple[str, int], int] | None = None) -> list[RawRecord]:
    """A ``getmany`` batch ({TopicPartition: messages}) as records, partition by partition,
    without those before ``positions`` (the state covers them already: read again after
    a crash between a checkpoint and its commit)."""
    out: list[RawRecord] = []
    for tp, messages in batch.items():
        topic, partition = tp.topic, tp.partition
        start = positions.get((topic, partition), -1) if positions else -1
        if messages and messages[0].offset < start:
            messages = [m for m in messages if m.offset >= start]
        out.extend(raw_record(topic, partition, m) for m in messages)
    return out


def finish_line(report: PublishReport) -> dict[tuple[str, int], int]:
    """Where a worker may stop: the end of everything this publisher got acknowledged."""
    return dict(report.next_offsets)


def reached(positions: Mapping[tuple[str, int], int], until: Iterable[tuple[tuple[str, int], int]],
            topics: Iterable[str]) -> bool:
    """Whether every partition of ``topics`` in ``until`` was read to its offset."""
    wanted = set(topics)
    return all(positions.get(tp, 0) >= end for tp, end in until if end > 0 and tp[0] in wanted)


async def read_to_end(
    held: Iterable[Any],
    positions: Mapping[tuple[str, int], int],
    highwater: Callable[[Any], int | None],
    position: Callable[[Any], Awaitable[int | None]],
) -> set[tuple[str, int]]:
    """The held partitions (topic, partition) processed to their high watermark: the
    engagement gate and the authenticity stage's watermark may stop waiting on them (a
    partition behind is waited for). ``position`` is asked only of a partition none of
    whose records was processed yet."""
    at_end = set()
    for tp in held:
        try:
            high = highwater(tp)  # known once a fetch answered: its position is valid then
            if high is None:
                continue
            read = positions.get((tp.topic, tp.partition))
            if read is None:
                read = await position(tp)
        except (AssertionError, IllegalStateError):  # taken away meanwhile
            continue
        if read is not None and read >= high:
            at_end.add((tp.topic, tp.partition))
    return at_end
