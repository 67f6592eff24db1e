"""The Faust engine: a ``faust.App`` whose agent feeds the same pipeline host as the native loop.

Faust brings its worker CLI, supervision, group membership with a co-partitioning
assignor, timers and a web server; the host brings everything else, exactly as for
``loop.py``: decide, letters and alerts, rows, the changelog checkpoint, restores.

Commits follow our order, not Faust's: the input topics are declared with ``acks=False``,
so Faust tracks no acknowledgements for them and never commits their offsets. The engine
commits itself, through the group member's own consumer, after ``Checkpoint.flush`` made
rows, letters, alerts and state (with the positions it covers) durable, as the native
engine does; so either engine can take over the other's group. A restored partition
reads on from the committed offset, and the records its state already covers (a crash
between a checkpoint and its commit) are skipped; with Apache Kafka's exact log end the
restored positions are never behind the commit.

Faust's per-event stream machinery still runs for every record (that is what the bench
measures); the host sees micro-batches from ``take_events``. No Faust table holds
per-event or windowed state: windows are event-time windows in the pure core.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import faust
from aiokafka.structs import TopicPartition

from campaignpulse import metrics
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.streams.contract_campaigns import WORKER_TOPICS
from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord
from campaignpulse.worker.checkpoint import Offsets
from campaignpulse.worker.host import PipelineHost
from campaignpulse.worker.outputs import WorkerStats
from campaignpulse.worker.records import faust_raw_record, reached, read_to_end
from campaignpulse.worker.topology import input_partitions

log = logging.getLogger(__name__)

#: seconds between the timer's ticks: idle judgement of held snapshots, due flushes
TICK_S = 0.2


class _App(faust.App):
    """Faust's app with our start and stop steps around its own."""

    #: its own log lines under Faust's name (quiet unless --verbose), ours under ours
    logger = logging.getLogger("faust.app.base")
    engine: FaustWorker

    async def on_start(self) -> None:
        await self.engine.started()
        await super().on_start()

    async def on_stop(self) -> None:
        # before Faust stops its consumer: the last flush still commits as a member
        await self.engine.stopping()
        await super().on_stop()
        await self.engine.stopped()


def faust_app(settings: Settings, client_id: str, web_port: int) -> _App:
    """The app: one consumer group (``group_id``), the broker, Faust's web server or none."""
    # Faust keeps table stores there; with no table and the memory store it stays empty
    datadir = Path(tempfile.gettempdir()) / "campaignpulse-faust"
    datadir.mkdir(parents=True, exist_ok=True)
    return _App(
        settings.group_id,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
        broker_client_id=client_id,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.heartbeat_interval_ms / 1000,
        broker_rebalance_timeout=settings.rebalance_timeout_ms / 1000,
        broker_max_poll_interval=settings.max_poll_interval_ms / 1000,
        broker_max_poll_records=settings.max_batch_records,
        # Faust's co-partitioning assignor is used only with standby replicas or tables
        # (else round robin, which splits partition k of the topics between workers)
        table_standby_replicas=1,
        # nothing of ours is ever acknowledged; its wait for acks would never end
        stream_wait_empty=False,
        stream_buffer_maxsize=max(4096, settings.max_batch_records),
        store="memory://",
        datadir=str(datadir),
        web_enabled=web_port > 0,
        web_port=web_port or 6066,
        web_bind=settings.faust_web_host,
        web_host=settings.faust_web_host,
        topic_partitions=settings.topic_partitions,
    )


class FaustWorker:
    """The same surface as ``loop.Worker``: ``run(stop)``, ``until``, ``host``, ``stats``."""

    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse | Callable[[], Warehouse],
        client_id: str = "worker",
        web_port: int = 0,
    ) -> None:
        """``warehouse``: or how to open it when the app starts (``faust -A ... worker``)."""
        self.settings = settings
        self.client_id = client_id
        #: when set, stop once every listed partition has been consumed to its offset
        self.until: Mapping[tuple[str, int], int] | None = None
        self._warehouse = warehouse
        self._host: PipelineHost | None = None
        if not callable(warehouse):
            self._host = PipelineHost(settings, warehouse, client_id)
        self.app = faust_app(settings, client_id, web_port)
        self.app.engine = self
        #: one step at a time: a batch, a timer tick, a rebalance, the last flush
        self._lock = asyncio.Lock()
        #: the host started: records may be taken, a last flush is owed
        self._ready = False
        self._finished = False
        self._reached = asyncio.Event()
        self._failure: BaseException | None = None
        self._crashing: asyncio.Future[None] | None = None
        self._last_flush = time.monotonic()
        topic = self.app.topic(*WORKER_TOPICS, acks=False, key_serializer="raw",
                               value_serializer="raw")
        self.app.agent(topic, name="campaignpulse.records")(self._agent)
        self.app.timer(TICK_S)(self._tick)
        # (mode's handler type, written with mypy_extensions, matches no coroutine method)
        self.app.on_partitions_revoked.connect(cast(Any, self._revoked))
        self.app.on_partitions_assigned.connect(cast(Any, self._assigned))
        from campaignpulse.worker.faust_web import add_views

        add_views(self)

    @property
    def host(self) -> PipelineHost:
        if self._host is None:
            raise RuntimeError("the Faust app is not started")
        return self._host

    @property
    def pipeline(self) -> EngagementPipeline:
        return self.host.pipeline

    @property
    def stats(self) -> WorkerStats:
        return self.host.stats

    async def run(self, stop: asyncio.Event) -> None:
        """Run the app until ``stop`` is set, it fails, or ``until`` is reached."""
        await self.app.start()
        waits = [asyncio.ensure_future(e.wait()) for e in (stop, self._reached)]
        crashed = asyncio.ensure_future(self.app.wait_until_stopped())
        try:
            await asyncio.wait([*waits, crashed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (*waits, crashed):
                waiting.cancel()
            await self.app.stop()
        failure = self._failure or self.app.crash_reason
        if failure is not None:
            raise failure  # as the native loop would: the CLI explains it in one line

    # -- the app's start and stop ----------------------------------------------------

    async def started(self) -> None:
        s = self.settings
        if self._host is None:
            warehouse = self._warehouse
            assert callable(warehouse)  # noqa: S101 - set in __init__ otherwise
            self._host = PipelineHost(s, await asyncio.to_thread(warehouse), self.client_id)
        partitions = await asyncio.to_thread(
            input_partitions, s.kafka_bootstrap, WORKER_TOPICS, s.changelog_topic)
        await self.host.start(partitions)
        await self.host.follow_definitions(asyncio.Event())
        self._ready = True

    async def stopping(self) -> None:
        """The last flush: judge what waits for engagement, write, commit."""
        async with self._lock:
            if self._finished or not self._ready:
                self._finished = True
                return
            self._finished = True
            if self._failure is not None:
                return  # stop uncommitted: a restart redoes what follows the last commit
            await self.host.idle(everything=True)
            if not await self.host.flush(self._commit):
                self._failure = RuntimeError("stopping with rows the warehouse did not accept")

    async def stopped(self) -> None:
        if self._host is not None:
            await self.host.stop()
            if callable(self._warehouse):  # opened here: closed here
                await asyncio.to_thread(self._host.sink.warehouse.close)

    # -- what Faust calls ------------------------------------------------------------

    async def _agent(self, stream: Any) -> None:
        async for events in stream.take_events(self.settings.max_batch_records, TICK_S):
            await self._step(self._consume(events))

    async def _tick(self) -> None:
        if self._ready and not self._lock.locked():  # else the agent judges and flushes
            await self._step(self._idle())

    async def _step(self, step: Any) -> None:
        """A failure stops the app uncommitted, as in the native loop."""
        async with self._lock:
            if self._finished or self._failure is not None:
                step.close()  # stopping: what is left is read again from the last commit
                return
            try:
                await step
            except Exception as exc:
                log.exception("the Faust engine stops")
                self._failure = exc
                # the app stops as crashed (under `faust -A` too): nothing more committed
                self._crashing = asyncio.ensure_future(self.app.crash(exc))

    async def _consume(self, events: list[Any]) -> None:
        # Records of a partition this member holds are applied whatever generation
        # fetched them (a rejoin does not fetch them again: dropping them lost them until
        # a restart); those its state already covers are skipped below. Records of a
        # partition it no longer holds are its new owner's.
        assignment = self._assignment()
        records = [faust_raw_record(e.message) for e in events
                   if (e.message.topic, e.message.partition) in assignment]
        if len(records) < len(events):
            log.info("%d records of partitions no longer held skipped",
                     len(events) - len(records))
        if records:
            # records can arrive before the assignment signal restored their partition
            await self.host.restore({r.partition for r in records})
            positions = self.host.pipeline.positions
            covered = len(records)
            records = [r for r in records
                       if r.offset >= positions.get((r.topic, r.partition), -1)]
            self.host.stats.reread += covered - len(records)
        await self._inputs_at_end(records)
        if records:
            await self.host.consume(records)
            metrics.observe_consumer_lag(_Highwaters(self.app.consumer),
                                         self.host.pipeline.positions)
        await self._flush_when_due()

    async def _idle(self) -> None:
        await self._inputs_at_end([])
        await self.host.idle()
        await self._flush_when_due()

    async def _inputs_at_end(self, records: list[RawRecord]) -> None:
        """Tell the pipeline which input partitions are read to their end once these
        records are processed."""
        positions = dict(self.host.pipeline.positions)
        for record in records:
            positions[(record.topic, record.partition)] = record.offset + 1
        consumer = self.app.consumer
        self.host.pipeline.inputs_at_end(await read_to_end(
            consumer.assignment(), positions, _Highwaters(consumer).highwater,
            consumer.position))

    async def _flush_when_due(self) -> None:
        host = self.host
        if host.due(time.monotonic() - self._last_flush):
            self._last_flush = time.monotonic()
            written = await host.flush(self._commit)
            if written and self.until is not None and reached(
                    host.pipeline.positions, self.until.items(), WORKER_TOPICS):
                self._reached.set()

    async def _revoked(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        if _ours(args[0]):  # flush and commit; the state stays until the assignment
            await self._step(self.host.revoked(self._commit))

    async def _assigned(self, sender: Any, *args: Any, **kwargs: Any) -> None:
        partitions = _ours(args[0])
        log.info("assigned partitions %s", sorted(partitions))
        # forget the partitions lost, restore only those gained
        await self._step(self.host.assigned(partitions))

    # -- the group member's consumer -------------------------------------------------

    def _assignment(self) -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in self.app.consumer.assignment()}

    async def _commit(self, offsets: Offsets) -> None:
        consumer, thread = self._consumer()
        held = self._assignment()
        mine = {TopicPartition(*tp): offset for tp, offset in offsets.items() if tp in held}
        if mine:
            await thread.call_thread(consumer.commit, mine)

    def _consumer(self) -> tuple[Any, Any]:
        """The group member's aiokafka consumer, and the thread whose loop it lives on:
        Faust runs it there, so every call to it goes through ``call_thread``."""
        thread: Any = getattr(self.app.consumer, "_thread")  # noqa: B009 - Faust's private
        return thread._ensure_consumer(), thread


def _ours(partitions: Iterable[Any]) -> set[int]:
    """Input partition numbers of a rebalance (Faust's own topics left out)."""
    return {tp.partition for tp in partitions if tp.topic in WORKER_TOPICS}


class _Highwaters:
    """Faust's consumer as the lag gauge reads it. Its assignment changes on Faust's
    consumer thread, so a partition lost a moment ago has no mark (not an error)."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer

    def highwater(self, tp: Any) -> int | None:
        try:
            return cast(int | None, self._consumer.highwater(tp))
        except (AssertionError, AttributeError):  # aiokafka: "Partition is not assigned"
            return None
