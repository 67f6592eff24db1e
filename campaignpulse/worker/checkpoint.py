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
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from campaignpulse import metrics
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams.pipeline import BatchResult, EngagementPipeline
from campaignpulse.streams.state.tables import ChangelogRecord
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
        #: cut but not yet written (a write in flight, or one the warehouse refused)
        self._unwritten: deque[_Cut] = deque()
        self._writing: asyncio.Task[bool] | None = None
        #: one writer of the cuts at a time: a rebalance's flush may start while the
        #: loop's background write runs, and each cut must be written once, in order
        self._write_lock = asyncio.Lock()
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
        pending.authenticity.add(result.authenticity)

    def add_definitions(self, rows: Iterable[CampaignDefinitionRow]) -> None:
        self.pending.campaigns.definitions.extend(rows)

    def __len__(self) -> int:
        return len(self.pending) + sum(len(cut.rows) for cut in self._unwritten)

    async def flush(self, commit: Commit | None, wait: bool = True) -> bool:
        """Make everything decided so far durable, then commit what that covers.

        Returns False when the warehouse refused the rows (a transient error): they are
        kept for the next try and nothing is committed. ``wait=False``: the rows, the
        state and the commit are written in the background while the engine reads on
        (one such write at a time: the next flush waits for it, and raises what it
        raised); returns True once it started.
        """
        await self.settled()
        if self._failures:  # the last write was refused: back off before the next try
            await asyncio.sleep(self._retry_delay())
        async with self.lock:
            self._unwritten.append(await self._cut())
        if wait:
            return await self._write(commit)
        self._writing = asyncio.create_task(self._write(commit))
        return True

    async def settled(self) -> bool:
        """Waits for the write in flight, if any: False if the warehouse refused it."""
        writing, self._writing = self._writing, None
        return True if writing is None else await writing

    def abandon(self) -> None:
        """The engine stops on a failure: a write in flight goes no further (nothing it
        did not finish is committed; the restart redoes it)."""
        if self._writing is not None:
            self._writing.cancel()
            self._writing = None

    async def _cut(self) -> _Cut:
        """What is decided up to here: its rows, its state as changelog records, and the
        positions they cover. Letters and alerts so far are acknowledged first (or set
        aside into its rows); DeliveryFailed stops the worker uncommitted, so a restart
        sends them again."""
        outputs = self.outputs
        await outputs.drain()
        rows, self.pending = self.pending, PendingWrites.empty()
        rows.dead_letters.extend(outputs.take_undeliverable())
        records = self.pipeline.checkpoint(int(time.time() * 1000), self.idle_ms)
        metrics.OPEN_WINDOWS.set(self.pipeline.open_windows())
        metrics.COPARTITION_MISMATCHES.inc(self.pipeline.gate.take_mismatches())
        metrics.ERRORS.labels("restore").inc(self.pipeline.take_refused())
        return _Cut(rows, records, self.pipeline.commit_positions())

    async def _write(self, commit: Commit | None) -> bool:
        """The cuts not yet written, in order: rows → changelog; then the commit."""
        async with self._write_lock:
            return await self._write_cuts(commit)

    async def _write_cuts(self, commit: Commit | None) -> bool:
        outputs = self.outputs
        offsets: Offsets = {}
        while self._unwritten:
            cut = self._unwritten[0]
            if cut.rows:
                try:
                    refused = await asyncio.to_thread(self.sink.write, cut.rows)
                except Exception:
                    metrics.ERRORS.labels("sink").inc()
                    metrics.SINK_RETRIES.inc()
                    self._failures += 1
                    log.exception("warehouse write failed; keeping rows, not committing, "
                                  "retry in %.1fs", self._retry_delay())
                    return False
                self._failures = 0
                outputs.stats.rows_written += len(cut.rows) - len(refused)
                cut.rows = PendingWrites.empty()  # a retry does not write them again
                if refused:
                    async with self.lock:  # the loop sends letters under it too
                        await outputs.refused_rows(refused)
                        await outputs.drain()
            await self._write_state(cut.records)
            self._unwritten.popleft()
            offsets = cut.offsets
        if commit is not None and offsets:
            await self._commit(commit, offsets)
        outputs.stats.last_flush_at = time.perf_counter()
        outputs.stats.last_flush_cpu = time.process_time()
        return True

    def _retry_delay(self) -> float:
        return min(0.5 * float(2 ** min(self._failures, 6)), MAX_RETRY_DELAY_S)

    async def _write_state(self, records: list[ChangelogRecord]) -> None:
        """State changed up to a cut, and the positions it covers, to the changelog,
        acknowledged, before the commit. A failure stops the worker: the restart
        restores the last complete checkpoint and reads on from its positions."""
        if records:
            log.info("checkpoint: %d changelog records", len(records))
        stats = self.outputs.stats
        stats.changelog_records += len(records)
        stats.changelog_bytes += sum(len(k) + len(v or b"") for _, k, v in records)
        metrics.CHANGELOG_RECORDS.inc(len(records))
        try:
            await self.changelog.write(records)
        except Exception:
            metrics.ERRORS.labels("changelog").inc()
            raise

    async def _commit(self, commit: Commit, offsets: Offsets) -> None:
        try:
            await commit(offsets)
        except Exception:
            metrics.ERRORS.labels("commit").inc()
            log.exception("offset commit failed; the next flush commits again")


@dataclass
class _Cut:
    """A flush's worth: rows, state changes, and the positions both cover."""

    rows: PendingWrites
    records: list[ChangelogRecord]
    offsets: Offsets
