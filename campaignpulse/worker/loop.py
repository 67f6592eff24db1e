"""The native engine: aiokafka micro-batches into the pipeline host, and rebalances.

Records arrive through ``getmany`` in batches and go straight to the host; nothing on
this path is per-event framework machinery. Every flush interval the host writes rows,
letters, alerts and state, then this loop commits what that covers.

Rebalances: aiokafka's protocol is eager (every partition is revoked, then the new
assignment arrives). On revoke the host flushes and commits, and keeps its state; on
assignment it forgets only the partitions it lost and restores only those it gained,
then reading resumes exactly where each restored state stops. The co-partitioned sticky
assignor (``assignor.py``) keeps partition k of every topic together and where it was.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import IllegalStateError
from aiokafka.structs import TopicPartition

from campaignpulse import metrics
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.streams.contract_campaigns import WORKER_TOPICS
from campaignpulse.streams.pipeline import EngagementPipeline
from campaignpulse.streams.state.store import RestoreReport
from campaignpulse.worker.assignor import CopartitionedStickyAssignor
from campaignpulse.worker.checkpoint import Offsets
from campaignpulse.worker.host import PipelineHost
from campaignpulse.worker.outputs import WorkerStats
from campaignpulse.worker.records import raw_records, reached, read_to_end
from campaignpulse.worker.topology import input_partitions

log = logging.getLogger(__name__)


class Worker:
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
        self.until: Mapping[tuple[str, int], int] | None = None
        self.host = PipelineHost(settings, warehouse, client_id)
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        #: a failure inside a rebalance callback, raised by the loop
        self._failure: BaseException | None = None

    @property
    def pipeline(self) -> EngagementPipeline:
        return self.host.pipeline

    @property
    def stats(self) -> WorkerStats:
        return self.host.stats

    @property
    def restores(self) -> list[tuple[list[int], RestoreReport, float]]:
        """(partitions, report, seconds) of each restore."""
        return list(self.host.restores)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set or every partition in ``until`` reached its offset."""
        s, host = self.settings, self.host
        partitions = await asyncio.to_thread(
            input_partitions, s.kafka_bootstrap, WORKER_TOPICS, s.changelog_topic)
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=s.group_id,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.session_timeout_ms,
            rebalance_timeout_ms=s.rebalance_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_interval_ms=s.max_poll_interval_ms,
            # partition k of every input topic to the same worker, and where it was: they
            # hold the same creators, so a creator's snapshots meet its engagement, and
            # a worker that stays restores only what it gains
            partition_assignment_strategy=(CopartitionedStickyAssignor(),),
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
        )
        try:
            await consumer.start()
            await consumer.topics()  # loads partition metadata
            await host.start(partitions)
            if self.exclusive:
                assigned = [TopicPartition(topic, p) for topic in WORKER_TOPICS
                            for p in sorted(consumer.partitions_for_topic(topic) or ())]
                consumer.assign(assigned)
                await self._assigned(set(assigned))
            else:
                consumer.subscribe(list(WORKER_TOPICS), listener=_Rebalance(self))
            await host.follow_definitions(stop)
            await self._loop(consumer, stop)
        finally:
            await host.stop()
            await consumer.stop()

    async def _loop(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        host = self.host
        last_flush = time.monotonic()
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200,
                                           max_records=self.settings.max_batch_records)
            if self._failure is not None:
                raise RuntimeError("rebalance callback failed") from self._failure
            if batch:
                # records can arrive while the rebalance callback still restores, before
                # it began (the fetcher is ahead of the callback), or of a partition it took
                # away meanwhile (its new owner reads them): restore what is held and not
                # restored yet, never drop it (the consumer's position is already past it)
                await host.restored_all()
                held = consumer.assignment()
                batch = {tp: ms for tp, ms in batch.items() if tp in held}
                early = {tp.partition for tp in batch} - host.restored
                if early:
                    await host.restore(early)
                records = raw_records(batch, host.pipeline.positions)
                await self._inputs_at_end(consumer, batch)
                host.stats.reread += sum(map(len, batch.values())) - len(records)
                await host.consume(records)
                await self._read_to(consumer, batch)
                metrics.observe_consumer_lag(consumer, host.pipeline.positions)
            else:
                await self._inputs_at_end(consumer, {})
                await host.idle()
            # a run told where to stop flushes as soon as it read that far
            if host.due(time.monotonic() - last_flush) or batch and self._done():
                last_flush = time.monotonic()
                await self._read_to(consumer, consumer.assignment(), wait_s=0.1)
                # rows, state and commit are written while the next batches are read,
                # unless this is the end of the run
                done = self._done()
                written = await host.flush(self._commit, wait=done)
                if written and done:
                    break
        # Nothing left to read: judge the snapshots still waiting for engagement.
        await host.idle(everything=True)
        if not await host.flush(self._commit):
            # Nothing past the unwritten rows was committed: a restart redoes them.
            raise RuntimeError("stopping with rows the warehouse did not accept")

    async def _read_to(self, consumer: AIOKafkaConsumer, tps: Iterable[TopicPartition],
                       wait_s: float | None = None) -> None:
        """Offsets without a record count as read (``PipelineHost.read_to``): where the
        consumer stands, everything it returned was consumed, and records before it that
        were never returned (transaction markers, records compacted or deleted away) do
        not exist. Without this the last commit of such a partition stays behind its end:
        its lag never reaches 0 and every restart reads its tail again. A partition being
        assigned (paused until it is positioned at its state) is left alone, and so is one
        whose position is still being looked up (``wait_s``: how long to wait for it;
        a partition that just returned records has one)."""
        paused = consumer.paused()
        offsets = {}
        for tp in tps:
            if tp in paused:
                continue
            try:
                position = consumer.position(tp)
                offset = await (position if wait_s is None
                                else asyncio.wait_for(position, wait_s))
            except (IllegalStateError, TimeoutError):  # revoked meanwhile, or no position
                continue
            offsets[(tp.topic, tp.partition)] = int(offset)
        self.host.read_to(offsets)

    async def _inputs_at_end(self, consumer: AIOKafkaConsumer,
                             batch: dict[TopicPartition, list[Any]]) -> None:
        """Tell the pipeline which input partitions this batch (or an empty fetch) leaves
        read to their end."""
        positions = dict(self.host.pipeline.positions)
        for tp, messages in batch.items():  # the batch about to be processed counts
            if messages:
                positions[(tp.topic, tp.partition)] = messages[-1].offset + 1
        self.host.pipeline.inputs_at_end(await read_to_end(
            consumer.assignment(), positions, consumer.highwater, consumer.position))

    def _done(self) -> bool:
        return self.until is not None and reached(self.host.pipeline.positions,
                                                  self.until.items(), WORKER_TOPICS)

    async def _commit(self, offsets: Offsets) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        held = consumer.assignment()
        mine = {TopicPartition(*tp): offset for tp, offset in offsets.items() if tp in held}
        if mine:
            await consumer.commit(mine)

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        """Forget lost partitions, restore gained ones before any of their records, and
        read each restored partition on from where its state stops (without state: from
        the committed offset, as aiokafka does)."""
        consumer = self._consumer
        gained = [tp for tp in assigned if tp.partition not in self.host.restored]
        if consumer is None:
            return
        consumer.pause(*gained)  # nothing read before it is positioned
        try:
            positions = await self.host.assigned({tp.partition for tp in assigned})
            for tp in gained:
                offset = positions.get((tp.topic, tp.partition))
                if offset is not None:
                    consumer.seek(tp, offset)
        finally:
            consumer.resume(*gained)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if revoked:
            try:
                await self._worker.host.revoked(self._worker._commit)
            except Exception as exc:  # state of partitions it no longer owns: stop
                self._worker._failure = exc
                raise

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("assigned %d partitions", len(assigned))
        try:
            await self._worker._assigned(assigned)
        except Exception as exc:  # aiokafka would only log it and read on without state
            self._worker._failure = exc
            raise
