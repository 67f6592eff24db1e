"""The worker's shell: Kafka micro-batches in, warehouse rows and dead letters out.

Records arrive through aiokafka ``getmany`` in batches and go straight to the pure
pipeline; nothing on this path is per-event framework machinery. Each flush writes the
rows, then checkpoints the changed processing state to the changelog topic, then commits
the offsets all of that covers: commits follow the head of each partition, and a worker
that restarts or takes a partition over restores its state before reading on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from campaignpulse.producers.publisher import PublishReport
from campaignpulse.settings import Settings
from campaignpulse.sinks.dead_letters import Letter, LetterLimits, dead_letter, message, table_row
from campaignpulse.sinks.delivery import AcknowledgedSender, DeliveryFailed
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams import metrics
from campaignpulse.streams.changelog import (
    Changelog,
    ensure_changelog,
    mark_metadata,
    parse_mark,
)
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
from campaignpulse.streams.spikes.monitor import drop_creators
from campaignpulse.streams.state.codec import RestoreReport, StateRestorer, checkpoint_records

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
    #: input records read, valid or not: what a restart re-reads shows here
    records: int = 0
    changelog_records: int = 0


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
        self._limits = LetterLimits(settings.dlq_max_value_bytes, settings.dlq_max_header_bytes)
        self.sink = WarehouseSink(warehouse, metrics.observe_insert, self._limits)
        self.stats = WorkerStats()
        self._client_id = client_id
        self._pending = PendingWrites.empty()
        #: campaign or contest definitions the contract refused, not yet dead-lettered
        self._refused_definitions: list[DeadLetter] = []
        self._sender: AcknowledgedSender | None = None
        self._sink_failures = 0
        self._positions: dict[TopicPartition, int] = {}
        self._last_flush = time.monotonic()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._state_producer: AIOKafkaProducer | None = None
        self.changelog = Changelog(settings.kafka_bootstrap, settings.changelog_topic)
        #: input partitions whose state is in memory (restored or built here)
        self._restored: set[int] = set()
        #: (partitions, report, seconds) of each restore, for tests and the bench
        self.restores: list[tuple[list[int], RestoreReport, float]] = []
        #: a restore that failed inside the rebalance callback, raised by the loop
        self._failure: BaseException | None = None
        self._restore_lock = asyncio.Lock()

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
            bootstrap_servers=s.kafka_bootstrap, client_id=f"{self._client_id}-dlq", acks="all",
            max_batch_size=256 * 1024, linger_ms=5,
        )
        # state has its own producer: a flood of dead letters must not delay checkpoints
        state_producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap, client_id=f"{self._client_id}-state",
            acks="all", linger_ms=5, max_batch_size=1024 * 1024,
        )
        self._consumer, self._producer = consumer, producer
        self._state_producer = state_producer
        await producer.start()
        self._sender = AcknowledgedSender(
            producer, self._undeliverable, s.dlq_max_in_flight, s.dlq_max_in_flight_bytes,
            s.dlq_retry_for_s,
        )
        await state_producer.start()
        await consumer.start()
        await consumer.topics()  # loads partition metadata
        partitions = len(await producer.partitions_for(INTERACTIONS_TOPIC))
        await asyncio.to_thread(
            ensure_changelog, s.kafka_bootstrap, self.changelog.topic, partitions
        )
        await self.changelog.ready(state_producer, partitions)
        if self.exclusive:
            assigned = [
                TopicPartition(topic, p)
                for topic in WORKER_TOPICS
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            consumer.assign(assigned)
            await self._on_assigned(set(assigned))
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
                if self._refused_definitions:
                    letters, self._refused_definitions = self._refused_definitions, []
                    await self._send_dead_letters(letters)
                if self._failure is not None:
                    raise RuntimeError("rebalance callback failed") from self._failure
                if batch:
                    # records can arrive while the rebalance callback still restores
                    await self._on_assigned(set(batch))
                    await self._consume(batch)
                elif len(self.pipeline.gate):
                    await self._judged(self.pipeline.judge_snapshots(_now_ms()))
                if self._flush_due():
                    written = await self.flush()
                    if written and self.until is not None and self._reached(self.until):
                        break
            # Nothing left to read: judge the snapshots still waiting for engagement.
            await self._judged(self.pipeline.judge_snapshots(_now_ms(), everything=True))
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
            await state_producer.stop()

    async def _consume(self, batch: Mapping[TopicPartition, list[object]]) -> None:
        records: list[RawRecord] = []
        for tp, messages in batch.items():
            records.extend(
                RawRecord(tp.topic, tp.partition, m.offset, m.key, m.value, m.timestamp,  # type: ignore[attr-defined]
                          published_ms(m.headers))  # type: ignore[attr-defined]
                for m in messages
            )
            self._positions[tp] = messages[-1].offset + 1  # type: ignore[attr-defined]
        self.stats.records += len(records)
        result = self.pipeline.process(records, _now_ms())
        metrics.CONSUMER_BATCHES.inc()
        metrics.observe_consumer_lag(self._consumer, self._positions)
        self._pending.add_engagement(result.engagement)
        self._pending.media.extend(result.media)
        self._pending.snapshots.extend(result.snapshots)
        self._count(result)
        await self._send_dead_letters(result.dead_letters)
        await self._judged(result.alerts)
        await self._campaign_outputs(result)

    def _pending_definition(self, row: CampaignDefinitionRow) -> None:
        self._pending.campaigns.definitions.append(row)

    def _definition_rejected(self, letter: DeadLetter) -> None:
        """Counted now, dead-lettered from the consume loop (sends are awaited there)."""
        self._refused_definitions.append(letter)
        reason = str(letter.reason)
        self.stats.dead_letters[reason] = self.stats.dead_letters.get(reason, 0) + 1
        metrics.DEAD_LETTERS.labels(reason).inc()

    async def _campaign_outputs(self, result: BatchResult) -> None:
        """KPI, contest and disclosure rows with the next flush; disclosure alerts now."""
        self._pending.campaigns.add(result.campaign_kpis, result.contest_performance,
                                    result.contest_minutes, result.disclosure_alerts)
        if self._sender is None:
            raise RuntimeError("alerts before the producer started")
        for alert in result.disclosure_alerts:
            if alert.version == 1:
                metrics.DISCLOSURE_ALERTS.inc()
            await self._sender.send(message(
                ALERTS_TOPIC, alert.creator_id.encode(), alert.to_json(),
                f"alert {alert.alert_id} v{alert.version}",
            ))

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
        for topic, n in result.future.items():
            metrics.FUTURE_EVENTS.labels(topic).inc(n)
        for topic, newest in result.newest_event_ms.items():
            metrics.EVENT_LAG.labels(topic).set(max(0.0, (now_ms - newest) / 1000))
            stats.newest_event_ms = max(stats.newest_event_ms, newest)

    async def _send_dead_letters(self, letters: list[DeadLetter]) -> None:
        """To the DLQ through the bounded sender: waits when too many await their ack."""
        if self._sender is None:
            raise RuntimeError("dead letters before the producer started")
        send, limits = self._sender.send, self._limits
        for letter in letters:
            record = letter.record
            await send(dead_letter(
                DLQ_TOPIC, (record.topic, record.partition, record.offset), record.key,
                record.value, str(letter.reason), letter.detail, limits,
            ))
        await self._sender.push()

    async def _judged(self, alerts: list[SpikeAlert]) -> None:
        """Alerts go to the warehouse with the next flush and to the alerts topic now."""
        if self._sender is None:
            raise RuntimeError("alerts before the producer started")
        self._pending.alerts.extend(alerts)
        for alert in alerts:
            if alert.version == 1:
                metrics.SPIKE_ALERTS.labels(alert.severity.value).inc()
                self.stats.alerts += 1
            await self._sender.send(message(
                ALERTS_TOPIC, alert.creator_id.encode(), alert.to_json(),
                f"alert {alert.alert_id} v{alert.version}",
            ))
        await self._sender.push()

    def _undeliverable(self, letter: Letter, failure: str) -> None:
        """A letter the broker refuses for good: a dead_letters row, written next flush."""
        metrics.DEAD_LETTERS_UNDELIVERABLE.labels(letter.topic).inc()
        self._pending.dead_letters.append(table_row(letter, failure, time.time()))

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
        sender = self._sender
        if sender is not None:
            # Every letter and alert so far acknowledged (or set aside into the rows
            # below) before the commit passes their records; DeliveryFailed stops the
            # worker uncommitted, so a restart sends them again.
            try:
                await sender.drain()
            except DeliveryFailed:
                metrics.ERRORS.labels("dlq").inc()
                raise
        try:
            refused = await asyncio.to_thread(self.sink.write, self._pending)
        except Exception:
            metrics.ERRORS.labels("sink").inc()
            metrics.SINK_RETRIES.inc()
            self._sink_failures += 1
            delay = min(0.5 * 2 ** min(self._sink_failures, 6), 30.0)
            log.exception("warehouse write failed; keeping rows, not committing, retry in "
                          "%.1fs", delay)
            await asyncio.sleep(delay)
            return False
        self._sink_failures = 0
        self.stats.rows_written += len(self._pending) - len(refused)
        self._pending = PendingWrites.empty()
        if refused and sender is not None:
            # rows the warehouse refuses as bad data: in dead_letters already, and to the DLQ
            for letter in refused:
                metrics.SINK_REJECTED_ROWS.labels(letter.source_topic.split('.', 1)[-1]).inc()
                metrics.DEAD_LETTERS.labels(letter.reason).inc()
                await sender.send(letter)
            await sender.drain()
        await self._checkpoint()
        metrics.OPEN_WINDOWS.set(self.pipeline.aggregator.open_windows())
        metrics.COPARTITION_MISMATCHES.inc(self.pipeline.gate.take_mismatches())
        await self._commit()
        return True

    async def _checkpoint(self) -> None:
        """State changed since the last flush to the changelog, acknowledged, before the
        commit that relies on it. A failure stops the worker uncommitted: the restart
        restores the last durable state and reads on from the last commit."""
        if self._state_producer is None:
            return
        pipeline = self.pipeline
        records = checkpoint_records(
            pipeline.aggregator, pipeline.spikes, pipeline.partition_of.get, _now_ms(),
            int(self.settings.state_idle_s * 1000),
        )
        if records:
            log.info("checkpoint: %d changelog records", len(records))
        self.stats.changelog_records += len(records)
        try:
            await self.changelog.write(self._state_producer, records)
        except Exception:
            metrics.ERRORS.labels("changelog").inc()
            raise

    async def _commit(self) -> None:
        if self._consumer is None:
            return
        interaction_partitions = [
            tp.partition for tp in self._positions if tp.topic == INTERACTIONS_TOPIC
        ]
        # Engagement and spike state is checkpointed (commits follow the head); campaign
        # KPI and contest windows are not yet: their first offsets hold commits, and a
        # restart rebuilds them from there (the campaign stage re-reads what it needs).
        needed: dict[int, int] = {}
        stage = self.pipeline.campaigns
        for held_by in (stage.kpis.resume_offsets(interaction_partitions),
                        stage.contests.resume_offsets(interaction_partitions)):
            for partition, first in held_by.items():
                needed[partition] = min(first, needed.get(partition, first))
        held = self.pipeline.gate.first_offsets()
        marks = self.changelog.marks
        offsets = {}
        for tp, position in self._positions.items():
            if tp.topic == INTERACTIONS_TOPIC:
                position = min(position, needed.get(tp.partition, position))
            elif tp.topic == FOLLOWERS_TOPIC:
                position = min(position, held.get(tp.partition, position))
            offsets[tp] = OffsetAndMetadata(position, mark_metadata(marks.get(tp.partition, 0)))
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

    async def _on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Restore the state of newly assigned partitions before any of their records."""
        if not {tp.partition for tp in assigned} - self._restored:
            return
        async with self._restore_lock:
            await self._restore(assigned)

    async def _restore(self, assigned: set[TopicPartition]) -> None:
        new = sorted({tp.partition for tp in assigned} - self._restored)
        if not new or self._consumer is None:
            return
        marks: dict[int, int] = {}
        if self.settings.group_id:
            committed = await self._consumer._coordinator.fetch_committed_offsets(
                [TopicPartition(INTERACTIONS_TOPIC, p) for p in new]
            )
            marks = {tp.partition: parse_mark(meta.metadata) for tp, meta in committed.items()}
        restorer = StateRestorer()
        seconds = await self.changelog.restore(new, marks, restorer)
        report = restorer.apply(self.pipeline.aggregator, self.pipeline.spikes)
        self._restored.update(new)
        self.restores.append((new, report, seconds))
        log.info("restored partitions %s: %d creators, %d events, %d records in %.2fs",
                 new, report.creators, report.events, report.records, seconds)
        if report.refused or report.missing_chunks:
            metrics.ERRORS.labels("restore").inc(report.refused + report.missing_chunks)
            log.warning("restore refused %d records, %d chunks missing",
                        report.refused, report.missing_chunks)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.flush()
        gone = {tp.partition for tp in revoked}
        pipeline = self.pipeline
        leaving = {c for c, p in pipeline.partition_of.items() if p in gone}
        leaving.update(c for c in list(pipeline.spikes._creators)
                       if pipeline.aggregator.partition_of(c) in gone)
        drop_creators(pipeline.spikes, leaving)
        for c in leaving:
            pipeline.partition_of.pop(c, None)
        self._restored -= gone
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


PUBLISHED_AT_HEADER = "campaignpulse.published_at"


def published_ms(headers: Sequence[tuple[str, bytes]] | None) -> int:
    """The producer's clock from the ``campaignpulse.published_at`` header (epoch ms in
    ASCII digits), or -1: records of foreign producers are judged by the worker's clock."""
    for name, value in headers or ():
        if name == PUBLISHED_AT_HEADER:
            return int(value) if value and len(value) <= 15 and value.isdigit() else -1
    return -1


def finish_line(report: PublishReport) -> dict[TopicPartition, int]:
    """Where a worker may stop: the end of everything this publisher got acknowledged."""
    return {TopicPartition(topic, p): end for (topic, p), end in report.next_offsets.items()}


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: EngagementWorker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if revoked:
            try:
                await self._worker._on_revoked(revoked)
            except Exception as exc:  # state of partitions it no longer owns: stop
                self._worker._failure = exc
                raise

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %d partitions", len(assigned))
        try:
            await self._worker._on_assigned(assigned)
        except Exception as exc:  # aiokafka would only log it and read on without state
            self._worker._failure = exc
            raise
