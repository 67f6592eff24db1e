"""``campaignpulse replay``: rebuild the warehouse rows of an event-time range from Kafka.

Records carry their event time as the Kafka timestamp, so the replay seeks by time. It
reads with its own consumer (manual assignment, no group, nothing committed), never
writes the state changelog and never sends alerts; it runs the same pipeline as the
worker, so every decision (late, duplicate, windows) is the live run's.

Range arithmetic: an hour window overlapping ``[from, to)`` must be rebuilt whole, so
reading starts at the hour that holds ``from`` minus the allowed lateness (records are in
publish order, not event-time order; an event's own time decides its window) and goes on
to the end of each partition as it was when the replay started (a stop by timestamp
would skip records published without their event time, whose Kafka timestamp is their
publish time). Only rows of windows that overlap ``[from, to)`` are written, and only
where they do not lose against the row the warehouse holds: versions count distinct
events, so a row with fewer events than the stored one is partial and is kept out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from campaignpulse.errors import UserError
from campaignpulse.settings import Settings
from campaignpulse.sinks.schema import COUNT_COLUMNS
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.sinks.writer import GrainKey, PendingWrites, WarehouseSink
from campaignpulse.streams.pipeline import DeadLetter
from campaignpulse.streams.timestamps import format_timestamp_ms, parse_timestamp_ms
from campaignpulse.streams.windows import EngagementRow

HOUR_MS = 3_600_000
#: interactions read before the range on each partition, to reach its clock
CLOCK_WARM_UP_RECORDS = 1_000


def _now_ms() -> int:
    """Only for the spike gate's wall-clock wait: no decision of a replay depends on it."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class ReplayRange:
    from_ms: int
    to_ms: int
    #: read records from the first one stamped at or after this
    seek_ms: int

    def overlaps(self, window_start_ms: int, window_ms: int) -> bool:
        return window_start_ms < self.to_ms and window_start_ms + window_ms > self.from_ms


def plan(from_ms: int, to_ms: int, lateness_ms: int) -> ReplayRange:
    """Where to seek so that every window overlapping the range is rebuilt whole.

    Every event of the hour holding ``from`` is stamped at or after the hour's start;
    the lateness on top is margin for records stamped before their event time.
    """
    if to_ms <= from_ms:
        raise ValueError("--to must be after --from")
    first_hour = from_ms - from_ms % HOUR_MS
    return ReplayRange(from_ms, to_ms, max(0, first_hour - lateness_ms))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = sub.add_parser(
        "replay", help="rebuild the rows of an event-time range from Kafka (backfill)",
        description="Reads CAMPAIGNPULSE_KAFKA_BOOTSTRAP, CLICKHOUSE_URL (or DATA_DIR), "
        "ALLOWED_LATENESS_S, SPIKE_ALERT_LEVEL.",
    )
    replay.add_argument("--from", dest="from_", required=True, metavar="TIME",
                        help="start of the range (RFC 3339 or epoch ms)")
    replay.add_argument("--to", default=None, metavar="TIME", help="end (default: now)")
    replay.add_argument("--topics", nargs="+", default=None, metavar="TOPIC",
                        help="input topics to read (default: all three)")
    replay.add_argument("--dry-run", action="store_true", help="compare and report only")
    replay.add_argument("--dlq", action="store_true",
                        help="send the range's dead letters again (default: not)")
    replay.add_argument("--data-dir", default=None, metavar="DIR", help="embedded warehouse")


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": args.data_dir})
    from_ms = _time(args.from_)
    to_ms = _time(args.to) if args.to else int(time.time() * 1000)
    from campaignpulse.sinks.warehouse import migrate, open_warehouse

    warehouse = open_warehouse(settings.clickhouse(), settings.data_dir)
    try:
        migrate(warehouse, settings.cluster())
        summary = asyncio.run(replay(
            settings, warehouse, plan(from_ms, to_ms, settings.allowed_lateness_ms),
            topics=args.topics, dry_run=args.dry_run, dlq=args.dlq,
            progress=sys.stdout.isatty(),
        ))
    finally:
        warehouse.close()
    print(json.dumps(summary.as_dict()))
    return 0


def _time(text: str) -> int:
    return int(text) if text.isdigit() else parse_timestamp_ms(text)


@dataclass
class ReplaySummary:
    range: ReplayRange
    records: int = 0
    events: int = 0
    rewritten: int = 0
    unchanged: int = 0
    #: rows the warehouse holds with more events than the replay saw: kept
    kept_fuller: int = 0
    snapshots: int = 0
    media: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    dead_letters_sent: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    #: named topics that do not exist (skipped)
    missing_topics: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": format_timestamp_ms(self.range.from_ms),
            "to": format_timestamp_ms(self.range.to_ms),
            "records_read": self.records, "events": self.events,
            "rows_rewritten": self.rewritten, "rows_unchanged": self.unchanged,
            "rows_kept_fuller": self.kept_fuller, "snapshots": self.snapshots,
            "media": self.media, "dead_letters": self.dead_letters,
            "dead_letters_sent": self.dead_letters_sent, "dry_run": self.dry_run,
            "missing_topics": self.missing_topics, "seconds": round(self.seconds, 2),
        }


async def replay(
    settings: Settings,
    warehouse: Warehouse,
    rng: ReplayRange,
    topics: list[str] | None = None,
    dry_run: bool = False,
    dlq: bool = False,
    progress: bool = False,
) -> ReplaySummary:
    """Read the range, rebuild its windows, and write what improves on the warehouse."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    from campaignpulse.broker import partition_counts
    from campaignpulse.streams.contract import INPUT_TOPICS, INTERACTIONS_TOPIC
    from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord
    from campaignpulse.worker.records import raw_record

    started = time.perf_counter()
    summary = ReplaySummary(rng, dry_run=dry_run)
    pipeline = EngagementPipeline(settings.allowed_lateness_ms, settings.spike_alert_level)
    pending = PendingWrites.empty()
    letters: list[DeadLetter] = []
    names = tuple(topics or INPUT_TOPICS)
    counts = await asyncio.to_thread(partition_counts, settings.kafka_bootstrap, names)
    if not counts:
        raise UserError(f"none of the topics {', '.join(names)} exists on "
                        f"{settings.kafka_bootstrap}: nothing to replay (check --topics and "
                        "CAMPAIGNPULSE_KAFKA_BOOTSTRAP)")
    summary.missing_topics = [t for t in names if t not in counts]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024, fetch_max_bytes=32 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t, n in counts.items() for p in range(n)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        seeks = await consumer.offsets_for_times({tp: rng.seek_ms for tp in tps})
        # no record stamped at or after the seek time: nothing to read there.
        # Apache Kafka's end offsets are exact; Tansu's under-report (see README).
        first = {tp: seeks[tp].offset if seeks.get(tp) else ends[tp] for tp in tps}
        last = ends
        # a creator's clock is its last five interactions: reading a little earlier
        # gives active creators the live run's clock (README: Event time)
        beginnings = await consumer.beginning_offsets(tps)
        start = {tp: max(beginnings[tp], first[tp] - CLOCK_WARM_UP_RECORDS)
                 if tp.topic == INTERACTIONS_TOPIC and first[tp] < last[tp] else first[tp]
                 for tp in tps}
        for tp in tps:
            consumer.seek(tp, start[tp])
        active = {tp for tp in tps if first[tp] < last[tp]}
        consumer.pause(*(set(tps) - active))
        with _Progress(progress, {tp: last[tp] - first[tp] for tp in active}) as bar:
            while active:
                batch = await consumer.getmany(timeout_ms=1000, max_records=20_000)
                warm_up: list[RawRecord] = []
                records: list[RawRecord] = []
                for tp, messages in batch.items():
                    for m in messages:
                        if m.offset < last[tp]:
                            into = warm_up if m.offset < first[tp] else records
                            into.append(raw_record(tp.topic, tp.partition, m))
                    bar.advance(tp, sum(1 for m in messages if first[tp] <= m.offset < last[tp]))
                    if messages[-1].offset + 1 >= last[tp]:
                        active.discard(tp)
                        consumer.pause(tp)
                if not batch:
                    positions = {tp: await consumer.position(tp) for tp in active}
                    active = {tp for tp in active if positions[tp] < last[tp]}
                    continue
                if warm_up:  # decided as the live run did, counted nowhere
                    pending.add_engagement(pipeline.process(warm_up, _now_ms()).engagement)
                summary.records += len(records)
                result = pipeline.process(records, _now_ms())
                summary.events += result.accepted.total()
                pending.add_engagement(result.engagement)
                pending.media.extend(m for m in result.media
                                     if rng.from_ms <= m.published_at_ms < rng.to_ms)
                pending.snapshots.extend(s for s in result.snapshots
                                         if rng.from_ms <= s.observed_at_ms < rng.to_ms)
                for letter in result.dead_letters:
                    reason = str(letter.reason)
                    summary.dead_letters[reason] = summary.dead_letters.get(reason, 0) + 1
                letters.extend(result.dead_letters if dlq else ())
    finally:
        await consumer.stop()
    await asyncio.to_thread(_write, warehouse, rng, pending, summary)
    if dlq and not dry_run:
        summary.dead_letters_sent = await _send_dead_letters(settings, letters)
    summary.seconds = time.perf_counter() - started
    return summary


def _write(
    warehouse: Warehouse, rng: ReplayRange, pending: PendingWrites, summary: ReplaySummary
) -> None:
    """Compare the rebuilt rows with the warehouse's and write only those that improve it.

    Same version and different values (a fixed bug) wins too: among equal versions the
    ReplacingMergeTree keeps the row inserted last.
    """
    rows = [r for r in pending.engagement.values() if rng.overlaps(r.window_start_ms, r.window_ms)]
    lo = (rng.from_ms - rng.from_ms % HOUR_MS) // 1000
    hi = -(-rng.to_ms // 1000)
    stored = {}
    # only integers we computed reach this text
    rows_of = (f"SELECT window_seconds, toUnixTimestamp(window_start) AS ws, campaign_id, "  # noqa: S608
               f"creator_id, {{}} AS media_id, {', '.join(COUNT_COLUMNS)}, unique_actors, reach, "
               f"version FROM {{}} FINAL WHERE bucket >= toDateTime({lo - 6 * 3600}) "
               f"AND window_start >= toDateTime({lo}) AND window_start < toDateTime({hi})")
    sql = (rows_of.format("media_id", "media_windows") + " UNION ALL "
           + rows_of.format("''", "creator_windows"))
    for held_row in warehouse.query(sql):
        key = (held_row["window_seconds"], held_row["ws"], held_row["campaign_id"],
               held_row["creator_id"], held_row["media_id"])
        stored[key] = tuple(int(held_row[c]) for c in (*COUNT_COLUMNS, "unique_actors",
                                                        "reach", "version"))
    better: dict[GrainKey, EngagementRow] = {}
    for row in rows:
        key = (row.window_ms // 1000, row.window_start_ms // 1000, row.campaign_id,
               row.creator_id, row.media_id)
        mine = (*row.counts, row.unique_actors, row.reach, row.version)
        held = stored.get(key)
        if held == mine:
            summary.unchanged += 1
        elif held is not None and held[-1] > row.version:
            summary.kept_fuller += 1
        else:
            summary.rewritten += 1
            better[key] = row
    summary.media, summary.snapshots = len(pending.media), len(pending.snapshots)
    if not summary.dry_run:
        WarehouseSink(warehouse).write(PendingWrites(better, pending.media, pending.snapshots, []))


async def _send_dead_letters(settings: Settings, letters: list[DeadLetter]) -> int:
    from aiokafka import AIOKafkaProducer

    from campaignpulse.streams.contract import DLQ_TOPIC

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all",
                                client_id="campaignpulse-replay-dlq")
    await producer.start()
    try:
        futures = []
        for letter in letters:
            record = letter.record
            headers = [("campaignpulse.reason", str(letter.reason).encode()),
                       ("campaignpulse.detail", letter.detail[:200].encode()),
                       ("campaignpulse.source",
                        f"{record.topic}/{record.partition}/{record.offset}".encode()),
                       ("campaignpulse.replay", b"1")]
            futures.append(await producer.send(DLQ_TOPIC, record.value or b"", key=record.key,
                                               headers=headers))
        sent = await asyncio.gather(*futures, return_exceptions=True)
        return sum(1 for s in sent if not isinstance(s, BaseException))
    finally:
        await producer.stop()


class _Progress:
    """Events, rate and ETA per partition on a terminal; nothing anywhere else."""

    def __init__(self, enabled: bool, totals: dict[Any, int]) -> None:
        self._bar: Any = None
        self._tasks: dict[Any, Any] = {}
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                                 TimeRemainingColumn())
            self._tasks = {tp: self._bar.add_task(f"{tp.topic}/{tp.partition}", total=n,
                                                  rate="")
                           for tp, n in sorted(totals.items())}

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, tp: Any, n: int) -> None:
        if self._bar is not None and tp in self._tasks:
            task = self._tasks[tp]
            self._bar.advance(task, n)
            speed = self._bar.tasks[task].speed or 0.0
            self._bar.update(task, rate=f"{speed:,.0f} events/s")
