"""What any engine drives: the pipeline, its outputs, its checkpoint and its restores.

An engine (the native aiokafka loop in ``loop.py``; Faust is next) reads records, tells
the host which partitions it gained or lost, and says how to commit offsets. The host
does the rest the same way for every engine: decide (the pure pipeline), send letters
and alerts, write rows, checkpoint state to the changelog and commit, restore the state
of newly assigned partitions before any of their records.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from campaignpulse import metrics
from campaignpulse.settings import Settings
from campaignpulse.sinks.dead_letters import LetterLimits
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.sinks.writer import WarehouseSink
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams.pipeline import DeadLetter, EngagementPipeline, RawRecord
from campaignpulse.streams.spikes.alert import SpikeAlert
from campaignpulse.streams.state.store import Positions, RestoreReport
from campaignpulse.worker.changelog import Changelog
from campaignpulse.worker.checkpoint import Checkpoint, Commit
from campaignpulse.worker.collector import Collector
from campaignpulse.worker.definitions import DefinitionsFeed
from campaignpulse.worker.outputs import Outputs, WorkerStats

log = logging.getLogger(__name__)


def now_ms() -> int:
    return int(time.time() * 1000)


class PipelineHost:
    def __init__(self, settings: Settings, warehouse: Warehouse, client_id: str = "worker") -> None:
        self.settings = settings
        self.client_id = client_id
        self.pipeline = EngagementPipeline(settings.allowed_lateness_ms, settings.spike_alert_level)
        self.stats = WorkerStats()
        self.limits = LetterLimits(settings.dlq_max_value_bytes, settings.dlq_max_header_bytes)
        self.sink = WarehouseSink(warehouse, metrics.observe_insert, self.limits)
        self.changelog = Changelog(settings.kafka_bootstrap, settings.changelog_topic, client_id)
        #: (partitions, report, seconds) of each restore, for tests and the bench
        self.restores: list[tuple[list[int], RestoreReport, float]] = []
        #: input partitions whose state is in memory (restored or built here)
        self.restored: set[int] = set()
        #: campaign or contest definitions the contract refused, not yet dead-lettered
        self._refused_definitions: list[DeadLetter] = []
        self._producer: Any = None
        self._outputs: Outputs | None = None
        self._checkpoint: Checkpoint | None = None
        self._feed: DefinitionsFeed | None = None
        self._following: asyncio.Task[None] | None = None
        self._restore_lock = asyncio.Lock()
        #: the cyclic collector, out of the hot loop
        self.collector = Collector()

    @property
    def outputs(self) -> Outputs:
        if self._outputs is None:
            raise RuntimeError("the host is not started")
        return self._outputs

    @property
    def checkpoint(self) -> Checkpoint:
        if self._checkpoint is None:
            raise RuntimeError("the host is not started")
        return self._checkpoint

    async def start(self, partitions: int) -> None:
        """Producers and the changelog up; ``partitions``: of every input topic."""
        s = self.settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap, client_id=f"{self.client_id}-dlq", acks="all",
            max_batch_size=256 * 1024, linger_ms=5,
        )
        await self._producer.start()
        self._outputs = Outputs(self._producer, self.limits, self.stats, s.dlq_max_in_flight,
                                s.dlq_max_in_flight_bytes, s.dlq_retry_for_s)
        await self.changelog.start(partitions)
        self._checkpoint = Checkpoint(self.pipeline, self.sink, self._outputs, self.changelog,
                                      int(s.state_idle_s * 1000))
        self.collector.start()

    async def follow_definitions(self, stop: asyncio.Event) -> None:
        """Read all campaign and contest definitions, then keep following them."""
        self._feed = DefinitionsFeed(self.settings, self.pipeline, self._definition,
                                     self._definition_rejected, self.client_id)
        await self._feed.start()
        self._following = asyncio.create_task(self._feed.follow(stop))

    async def stop(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.abandon()  # a failure ended the engine: commit nothing more
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
        if self._feed is not None:
            await self._feed.stop()
        await self.changelog.stop()
        if self._producer is not None:
            await self._producer.stop()
        self.collector.stop()

    async def consume(self, records: list[RawRecord]) -> None:
        """One batch: decide, send its letters and alerts, keep its rows for the flush."""
        checkpoint = self.checkpoint
        if not self.stats.first_record_at and records:
            self.stats.first_record_at = time.perf_counter()
            self.stats.first_record_cpu = time.process_time()
        async with checkpoint.lock:
            await self._send_refused_definitions()
            self.stats.records += len(records)
            result = self.pipeline.process(records, now_ms())
            metrics.CONSUMER_BATCHES.inc()
            checkpoint.add(result)
            self.outputs.count(result)
            await self.outputs.send(result)
        self.collector.batch_done()

    def read_to(self, offsets: Positions) -> None:
        """The engine's consumer positions, every record before them consumed: see
        ``EngagementPipeline.read_to``. Only partitions whose state is here count."""
        restored = self.restored
        self.pipeline.read_to({tp: o for tp, o in offsets.items() if tp[1] in restored})

    async def idle(self, everything: bool = False) -> None:
        """Nothing read: judge the snapshots whose wait for engagement is over (or all)."""
        async with self.checkpoint.lock:
            await self._send_refused_definitions()
            if everything or len(self.pipeline.gate):
                await self._judged(self.pipeline.judge_snapshots(now_ms(), everything))

    async def _judged(self, alerts: list[SpikeAlert]) -> None:
        if alerts:
            self.checkpoint.pending.alerts.extend(alerts)
            await self.outputs.alerts(alerts)

    async def flush(self, commit: Commit | None, wait: bool = True) -> bool:
        """``wait=False``: written in the background while the engine reads on."""
        return await self.checkpoint.flush(commit, wait)

    def due(self, since_s: float) -> bool:
        s = self.settings
        return since_s >= s.flush_interval_s or len(self.checkpoint) >= s.max_pending_rows

    async def assigned(self, partitions: Iterable[int]) -> Positions:
        """The engine holds these partitions now: forget the state of those it lost,
        restore those it gained (before any of their records). Returns where reading
        resumes on the restored ones: the positions their state covers."""
        held = set(partitions)
        lost = self.restored - held
        if lost:
            self.pipeline.revoke(lost)
            self.restored -= lost
        return await self.restore(held - self.restored)

    async def restore(self, partitions: Iterable[int]) -> Positions:
        async with self._restore_lock:
            new = sorted(set(partitions) - self.restored)
            if not new:
                return {}
            report = RestoreReport()
            with self.collector.quiet():
                by_partition, seconds = await self.changelog.read(new)
                for partition in new:
                    report.merge(self.pipeline.restore(partition, by_partition.pop(partition)))
            self.restored.update(new)
            self.restores.append((new, report, seconds))
            self.collector.start()
            stats = self.stats
            stats.restored_partitions += len(new)
            stats.restore_records += report.records
            stats.restore_seconds += seconds
            metrics.RESTORED_PARTITIONS.inc(len(new))
            metrics.RESTORE_RECORDS.inc(report.records)
            metrics.RESTORE_SECONDS.inc(seconds)
            log.info("restored partitions %s: %d changelog records (%d keys, %d of a flush "
                     "cut short) in %.2fs", new, report.records, sum(report.keys.values()),
                     report.unfinished, seconds)
            if report.refused:
                metrics.ERRORS.labels("restore").inc(report.refused)
                log.warning("restore refused %d changelog records that do not decode into "
                            "this release's state (see README: Durable state)", report.refused)
            return report.positions

    async def restored_all(self) -> None:
        """Returns once no restore is running (records may arrive during one)."""
        async with self._restore_lock:
            return

    async def revoked(self, commit: Commit | None) -> None:
        """A rebalance begins: make everything durable and commit it. The state stays
        until the new assignment says which partitions moved (``assigned``)."""
        await self.flush(commit)

    def _definition(self, row: CampaignDefinitionRow) -> None:
        self.checkpoint.add_definitions([row])

    def _definition_rejected(self, letter: DeadLetter) -> None:
        """Counted now, dead-lettered from the consume loop (sends are awaited there)."""
        self._refused_definitions.append(letter)
        self.stats.letter(str(letter.reason))

    async def _send_refused_definitions(self) -> None:
        if self._refused_definitions:
            letters, self._refused_definitions = self._refused_definitions, []
            await self.outputs.dead_letters(letters)
