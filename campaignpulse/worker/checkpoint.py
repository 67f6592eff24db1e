"""One flush, in the only safe order: rows → letters and alerts → changelog → commit.

Engine-agnostic: the engine hands in how it commits offsets; everything else (the
warehouse sink, the acknowledged outputs, the state changelog) is the same for every
engine. A commit never passes a record whose rows, letters, alerts or state are not
durable, so a restart or a new owner of a partition re-reads at most what came after
the last flush, and decides it again from the same state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from campaignpulse import metrics
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams.pipeline import BatchResult, EngagementPipeline
from campaignpulse.worker.changelog import Changelog
from campaignpulse.worker.outputs import Outputs

log = logging.getLogger(__name__)

#: (topic, partition) -> offset: what an engine commits
Offsets = dict[tuple[str, int], int]
Commit = Callable[[Offsets], Awaitable[None]]

#: the longest pause between retries of a warehouse that keeps failing
MAX_RETRY_DELAY_S = 30.0


class Checkpoint:
    def __init__(
        self,
        pipeline: EngagementPipeline,
        sink: WarehouseSink,
        outputs: Outputs,
        changelog: Changelog,
        idle_ms: int | None,
    ) -> None:
        self.pipeline = pipeline
        self.sink = sink
        self.outputs = outputs
        self.changelog = changelog
        self.idle_ms = idle_ms
        self.pending = PendingWrites.empty()
        self._failures = 0
        #: one flush at a time, and none while a batch's letters are being sent: a
        #: rebalance may ask for a flush while the loop is in the middle of either
        self.lock = asyncio.Lock()

    def add(self, result: BatchResult) -> None:
        """A batch's rows, written with the next flush."""
        pending = self.pending
        pending.add_engagement(result.engagement)
        pending.media.extend(result.media)
        pending.snapshots.extend(result.snapshots)
        pending.alerts.extend(result.alerts)
        pending.campaigns.add(result.campaign_kpis, result.contest_performance,
                              result.contest_minutes, result.disclosure_alerts)

    def add_definitions(self, rows: Iterable[CampaignDefinitionRow]) -> None:
        self.pending.campaigns.definitions.extend(rows)

    def __len__(self) -> int:
        return len(self.pending)

    async def flush(self, commit: Commit | None) -> bool:
        """Make everything decided so far durable, then commit what that covers.

        Returns False when the warehouse refused the rows (a transient error): they are
        kept for the next try and nothing is committed.
        """
        async with self.lock:
            return await self._flush(commit)

    async def _flush(self, commit: Commit | None) -> bool:
        outputs = self.outputs
        # Every letter and alert so far acknowledged (or set aside into the rows below)
        # before the commit passes their records; DeliveryFailed stops the worker
        # uncommitted, so a restart sends them again.
        await outputs.drain()
        self.pending.dead_letters.extend(outputs.take_undeliverable())
        try:
            refused = await asyncio.to_thread(self.sink.write, self.pending)
        except Exception:
            metrics.ERRORS.labels("sink").inc()
            metrics.SINK_RETRIES.inc()
            self._failures += 1
            delay = min(0.5 * 2 ** min(self._failures, 6), MAX_RETRY_DELAY_S)
            log.exception("warehouse write failed; keeping rows, not committing, retry in "
                          "%.1fs", delay)
            await asyncio.sleep(delay)
            return False
        self._failures = 0
        outputs.stats.rows_written += len(self.pending) - len(refused)
        self.pending = PendingWrites.empty()
        if refused:
            await outputs.refused_rows(refused)
            await outputs.drain()
        await self._write_state()
        metrics.OPEN_WINDOWS.set(self.pipeline.open_windows())
        metrics.COPARTITION_MISMATCHES.inc(self.pipeline.gate.take_mismatches())
        if commit is not None:
            await self._commit(commit)
        self.outputs.stats.last_flush_at = time.perf_counter()
        self.outputs.stats.last_flush_cpu = time.process_time()
        return True

    async def _write_state(self) -> None:
        """State changed since the last flush, and the positions it covers, to the
        changelog, acknowledged, before the commit. A failure stops the worker: the
        restart restores the last complete checkpoint and reads on from its positions."""
        records = self.pipeline.checkpoint(int(time.time() * 1000), self.idle_ms)
        if records:
            log.info("checkpoint: %d changelog records", len(records))
        self.outputs.stats.changelog_records += len(records)
        self.outputs.stats.changelog_bytes += sum(len(k) + len(v or b"") for _, k, v in records)
        metrics.CHANGELOG_RECORDS.inc(len(records))
        try:
            await self.changelog.write(records)
        except Exception:
            metrics.ERRORS.labels("changelog").inc()
            raise

    async def _commit(self, commit: Commit) -> None:
        offsets = self.pipeline.commit_positions()
        if not offsets:
            return
        try:
            await commit(offsets)
        except Exception:
            metrics.ERRORS.labels("commit").inc()
            log.exception("offset commit failed; the next flush commits again")
