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
from campaignpulse.streams.state.codec import RestoreReport
from campaignpulse.worker.changelog import Changelog
from campaignpulse.worker.checkpoint import Checkpoint, Commit
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

    async def follow_definitions(self, stop: asyncio.Event) -> None:
        """Read all campaign and contest definitions, then keep following them."""
        self._feed = DefinitionsFeed(self.settings, self.pipeline, self._definition,
                                     self._definition_rejected, self.client_id)
        await self._feed.start()
        self._following = asyncio.create_task(self._feed.follow(stop))

    async def stop(self) -> None:
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
        if self._feed is not None:
            await self._feed.stop()
        await self.changelog.stop()
        if self._producer is not None:
            await self._producer.stop()

    async def consume(self, records: list[RawRecord]) -> None:
        """One batch: decide, send its letters and alerts, keep its rows for the flush."""
        await self._send_refused_definitions()
        self.stats.records += len(records)
        result = self.pipeline.process(records, now_ms())
        metrics.CONSUMER_BATCHES.inc()
        self.checkpoint.add(result)
        self.outputs.count(result)
        await self.outputs.send(result)

    async def idle(self, everything: bool = False) -> None:
        """Nothing read: judge the snapshots whose wait for engagement is over (or all)."""
        await self._send_refused_definitions()
        if everything or len(self.pipeline.gate):
            await self._judged(self.pipeline.judge_snapshots(now_ms(), everything))

    async def _judged(self, alerts: list[SpikeAlert]) -> None:
        if alerts:
            self.checkpoint.pending.alerts.extend(alerts)
            await self.outputs.alerts(alerts)

    async def flush(self, commit: Commit | None) -> bool:
        return await self.checkpoint.flush(commit)

    def due(self, since_s: float) -> bool:
        s = self.settings
        return since_s >= s.flush_interval_s or len(self.checkpoint) >= s.max_pending_rows

    async def restore(self, partitions: Iterable[int], marks: dict[int, int]) -> None:
        """Restore the state of partitions not in memory yet, before any of their records."""
        async with self._restore_lock:
            new = sorted(set(partitions) - self.restored)
            if not new:
                return
            records, seconds = await self.changelog.read(new, marks)
            report = self.pipeline.restore(records)
            self.restored.update(new)
            self.restores.append((new, report, seconds))
            log.info("restored partitions %s: %d creators, %d events, %d records in %.2fs",
                     new, report.creators, report.events, report.records, seconds)
            if report.refused or report.missing_chunks:
                metrics.ERRORS.labels("restore").inc(report.refused + report.missing_chunks)
                log.warning("restore refused %d records, %d chunks missing",
                            report.refused, report.missing_chunks)

    async def revoke(self, partitions: Iterable[int], commit: Commit | None) -> None:
        """Flush and commit, then forget the state of partitions another worker takes."""
        gone = set(partitions)
        await self.flush(commit)
        self.pipeline.revoke(gone)
        self.restored -= gone

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
