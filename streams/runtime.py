"""The worker's shell: Kafka micro-batches in, warehouse rows and dead letters out.

Records arrive through aiokafka ``getmany`` in batches and go straight to the pure
pipeline; nothing on this path is per-event framework machinery. Offsets are committed
only after the rows and dead letters they produced are durable, and never past the first
offset an open window still needs, so a restart or rebalance rebuilds whole windows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from campaignpulse.producers.publisher import PublishReport
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams import metrics
from campaignpulse.streams.contract import (
    DLQ_TOPIC,
    FOLLOWERS_TOPIC,
    INTERACTIONS_TOPIC,
    Reason,
)
from campaignpulse.streams.contract_campaigns import WORKER_TOPICS
from campaignpulse.streams.pipeline import BatchResult, DeadLetter, EngagementPipeline, RawRecord
from campaignpulse.streams.runtime_definitions import DefinitionsFeed
from campaignpulse.streams.spikes.alert import ALERTS_TOPIC, SpikeAlert

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """What the demo board and the bench read; cumulative since start."""

    events: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    rows_written: int = 0
    newest_event_ms: int = -1
    alerts: int = 0


class EngagementWorker:
    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse,
        client_id: str = "worker",
        exclusive: bool = False,
    ) -> None:
        """``exclusive``: take every partition without a group join (one worker only)."""
        self.settings = settings
        self.exclusive = exclusive
        #: when set, stop once every listed partition has been consumed to its offset
        self.until: Mapping[TopicPartition, int] | None = None
        self.pipeline = EngagementPipeline(
            settings.allowed_lateness_ms, settings.spike_alert_level
        )
        self.sink = WarehouseSink(warehouse, metrics.observe_insert)
        self.stats = WorkerStats()
        self._client_id = client_id
        self._pending = PendingWrites.empty()
        self._sends: list[asyncio.Future[object]] = []
        self._positions: dict[TopicPartition, int] = {}
        self._last_flush = time.monotonic()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set or every partition in ``until`` reached its offset."""
        s = self.settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=s.group_id,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.session_timeout_ms,
            rebalance_timeout_ms=s.rebalance_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_interval_ms=s.max_poll_interval_ms,
            # partition k of every input topic to the same worker: they hold the same
            # creators, so a creator's snapshots meet its engagement
            partition_assignment_strategy=(RangePartitionAssignor,),
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap, client_id=f"{self._client_id}-dlq", acks="all"
        )
        self._consumer, self._producer = consumer, producer
        await producer.start()
        await consumer.start()
        if self.exclusive:
            await consumer.topics()  # loads partition metadata
            consumer.assign(
                [
                    TopicPartition(topic, p)
                    for topic in WORKER_TOPICS
                    for p in sorted(consumer.partitions_for_topic(topic) or ())
                ]
            )
        else:
            consumer.subscribe(list(WORKER_TOPICS), listener=_Rebalance(self))
        feed = DefinitionsFeed(s, self.pipeline.campaigns, self._pending_definition,
                               self._definition_rejected, self._client_id)
        following = None
        try:
            await feed.start()
            following = asyncio.create_task(feed.follow(stop))
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=s.max_batch_records)
                if batch:
                    self._consume(batch)
                elif len(self.pipeline.gate):
                    self._judged(self.pipeline.judge_snapshots(_now_ms()))
                if self._flush_due():
                    written = await self.flush()
                    if written and self.until is not None and self._reached(self.until):
                        break
            # Nothing left to read: judge the snapshots still waiting for engagement.
            self._judged(self.pipeline.judge_snapshots(_now_ms(), everything=True))
            if not await self.flush():
                # Nothing past the unwritten rows was committed: a restart redoes them.
                raise RuntimeError("stopping with rows the warehouse did not accept")
        finally:
            if following is not None:
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
            await feed.stop()
            await consumer.stop()
            await producer.stop()

    def _consume(self, batch: Mapping[TopicPartition, list[object]]) -> None:
        records: list[RawRecord] = []
        for tp, messages in batch.items():
            records.extend(
                RawRecord(tp.topic, tp.partition, m.offset, m.key, m.value, m.timestamp)  # type: ignore[attr-defined]
                for m in messages
            )
            self._positions[tp] = messages[-1].offset + 1  # type: ignore[attr-defined]
        result = self.pipeline.process(records, _now_ms())
        metrics.CONSUMER_BATCHES.inc()
        self._pending.add_engagement(result.engagement)
        self._pending.media.extend(result.media)
        self._pending.snapshots.extend(result.snapshots)
        self._send_dead_letters(result.dead_letters)
        self._judged(result.alerts)
        self._count(result)
        self._campaign_outputs(result)

    def _pending_definition(self, row: CampaignDefinitionRow) -> None:
        self._pending.campaigns.definitions.append(row)

    def _definition_rejected(self, letter: DeadLetter) -> None:
        self._send_dead_letters([letter])
        reason = str(letter.reason)
        self.stats.dead_letters[reason] = self.stats.dead_letters.get(reason, 0) + 1
        metrics.DEAD_LETTERS.labels(reason).inc()

    def _campaign_outputs(self, result: BatchResult) -> None:
        """KPI, contest and disclosure rows with the next flush; disclosure alerts now."""
        self._pending.campaigns.add(result.campaign_kpis, result.contest_performance,
                                    result.contest_minutes, result.disclosure_alerts)
        if self._producer is None:
            raise RuntimeError("alerts before the producer started")
        for alert in result.disclosure_alerts:
            if alert.version == 1:
                metrics.DISCLOSURE_ALERTS.inc()
            self._sends.append(asyncio.ensure_future(self._producer.send(
                ALERTS_TOPIC, alert.to_json(), key=alert.creator_id.encode())))

    def _count(self, result: BatchResult) -> None:
        stats = self.stats
        for (topic, kind), n in result.accepted.items():
            metrics.EVENTS.labels(topic, kind).inc(n)
            stats.events += n
        if result.duplicates:
            metrics.DUPLICATES.inc(result.duplicates)
            stats.duplicates += result.duplicates
        for letter in result.dead_letters:
            reason = str(letter.reason)
            stats.dead_letters[reason] = stats.dead_letters.get(reason, 0) + 1
            metrics.DEAD_LETTERS.labels(reason).inc()
            if letter.reason is Reason.LATE:
                metrics.LATE_EVENTS.labels(letter.record.topic).inc()
        now_ms = time.time() * 1000
        for topic, newest in result.newest_event_ms.items():
            metrics.EVENT_LAG.labels(topic).set(max(0.0, (now_ms - newest) / 1000))
            stats.newest_event_ms = max(stats.newest_event_ms, newest)

    def _send_dead_letters(self, letters: list[DeadLetter]) -> None:
        if self._producer is None:
            raise RuntimeError("dead letters before the producer started")
        for letter in letters:
            record = letter.record
            headers = [
                ("campaignpulse.reason", str(letter.reason).encode()),
                ("campaignpulse.detail", letter.detail.encode()),
                ("campaignpulse.source",
                 f"{record.topic}/{record.partition}/{record.offset}".encode()),
            ]
            future = asyncio.ensure_future(
                self._producer.send(DLQ_TOPIC, record.value or b"", key=record.key, headers=headers)
            )
            self._sends.append(future)

    def _judged(self, alerts: list[SpikeAlert]) -> None:
        """Alerts go to the warehouse with the next flush and to the alerts topic now."""
        if self._producer is None:
            raise RuntimeError("alerts before the producer started")
        self._pending.alerts.extend(alerts)
        for alert in alerts:
            if alert.version == 1:
                metrics.SPIKE_ALERTS.labels(alert.severity.value).inc()
                self.stats.alerts += 1
            future = asyncio.ensure_future(
                self._producer.send(ALERTS_TOPIC, alert.to_json(), key=alert.creator_id.encode())
            )
            self._sends.append(future)

    def _flush_due(self) -> bool:
        return (
            time.monotonic() - self._last_flush >= self.settings.flush_interval_s
            or len(self._pending) >= self.settings.max_pending_rows
        )

    async def flush(self) -> bool:
        """Make everything decided so far durable, then commit what that covers.

        Returns False when the warehouse refused the rows; they are kept for the next try.
        """
        self._last_flush = time.monotonic()
        try:
            await asyncio.to_thread(self.sink.write, self._pending)
        except Exception:
            metrics.ERRORS.labels("sink").inc()
            log.exception("warehouse write failed; keeping rows and not committing")
            await asyncio.sleep(1.0)
            return False
        self.stats.rows_written += len(self._pending)
        self._pending = PendingWrites.empty()
        if self._sends:
            sends, self._sends = self._sends, []
            delivered = await asyncio.gather(*sends, return_exceptions=True)
            failed = [d for d in delivered if isinstance(d, BaseException)]
            if failed:
                # A later commit would skip these records for good: stop uncommitted
                # instead, so the restarted worker sends them again.
                metrics.ERRORS.labels("dlq").inc()
                raise RuntimeError("dead-letter or alert delivery failed") from failed[0]
        metrics.OPEN_WINDOWS.set(self.pipeline.aggregator.open_windows())
        await self._commit()
        return True

    async def _commit(self) -> None:
        if self._consumer is None:
            return
        interaction_partitions = [
            tp.partition for tp in self._positions if tp.topic == INTERACTIONS_TOPIC
        ]
        needed = self.pipeline.aggregator.resume_offsets(interaction_partitions)
        stage = self.pipeline.campaigns  # open campaign and contest windows hold commits too
        for held_by in (stage.kpis.resume_offsets(interaction_partitions),
                        stage.contests.resume_offsets(interaction_partitions)):
            for partition, first in held_by.items():
                needed[partition] = min(first, needed.get(partition, first))
        held = self.pipeline.gate.first_offsets()
        offsets = {}
        for tp, position in self._positions.items():
            if tp.topic == INTERACTIONS_TOPIC:
                position = min(position, needed.get(tp.partition, position))
            elif tp.topic == FOLLOWERS_TOPIC:
                position = min(position, held.get(tp.partition, position))
            offsets[tp] = OffsetAndMetadata(position, "")
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except Exception:
            metrics.ERRORS.labels("commit").inc()
            log.exception("offset commit failed; the next flush commits again")

    def _reached(self, until: Mapping[TopicPartition, int]) -> bool:
        return all(self._positions.get(tp, 0) >= end for tp, end in until.items()
                   if end > 0 and tp.topic in WORKER_TOPICS)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.flush()
        self.pipeline.aggregator.drop_partitions(
            tp.partition for tp in revoked if tp.topic == INTERACTIONS_TOPIC
        )
        self.pipeline.gate.drop_partitions(
            tp.partition for tp in revoked if tp.topic == FOLLOWERS_TOPIC
        )
        moved = [tp.partition for tp in revoked if tp.topic == INTERACTIONS_TOPIC]
        self.pipeline.campaigns.kpis.drop_partitions(moved)
        self.pipeline.campaigns.contests.drop_partitions(moved)
        for tp in revoked:
            self._positions.pop(tp, None)


def _now_ms() -> int:
    return int(time.time() * 1000)


def finish_line(report: PublishReport) -> dict[TopicPartition, int]:
    """Where a worker may stop: the end of everything this publisher got acknowledged."""
    return {TopicPartition(topic, p): end for (topic, p), end in report.next_offsets.items()}


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: EngagementWorker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if revoked:
            await self._worker._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %d partitions", len(assigned))
