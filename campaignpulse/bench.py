"""``campaignpulse bench``: the raw consume rate and the full pipeline rate, in one run.

Both read the same topics on the same embedded broker, so their ratio says how much of
the machine's Kafka read rate the pipeline keeps, whatever the machine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import tempfile
import time

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from campaignpulse.broker import embedded_tansu, ensure_topics
from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
from campaignpulse.producers.simulator import CampaignSimulator, Envelope
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.contract import FOLLOWERS_TOPIC
from campaignpulse.streams.timestamps import format_timestamp_ms
from campaignpulse.worker.engines import new_worker
from campaignpulse.worker.records import finish_line

SPIKING = "bench-spiking-creator"


async def raw_consume(bootstrap: str, ends: dict[tuple[str, int], int]) -> float:
    """An aiokafka ``getmany`` loop that decodes JSON and nothing else: events/s."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_bytes=32 * 1024 * 1024,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, partition) for topic, partition in ends]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        total = sum(ends.values())
        seen = 0
        started = time.perf_counter()
        while seen < total:
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for messages in batch.values():
                for message in messages:
                    orjson.loads(message.value)
                seen += len(messages)
        return total / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def run_bench(settings: Settings, events: int, seed: int,
                    engines: tuple[str, ...] = ("native",)) -> int:
    """The raw rate, then each engine's pipeline rate on the same records (its own group
    and warehouse), and its spike-to-alert latency."""
    results: dict[str, dict[str, float]] = {}
    with embedded_tansu() as bootstrap, tempfile.TemporaryDirectory() as data_dir:
        settings = settings.model_copy(update={"kafka_bootstrap": bootstrap, "metrics_port": 0,
                                               "faust_web_port": 0})
        ensure_topics(settings)
        simulator = CampaignSimulator(seed=seed, start_ms=int(time.time() * 1000) - 86_400_000)
        publisher = Publisher(bootstrap, client_id="bench-producer")
        await asyncio.to_thread(
            publisher.publish,
            (envelope_to_outgoing(e) for e in itertools.islice(simulator.events(), events)),
        )
        publisher.close()
        ends = finish_line(publisher.report)
        raw = await raw_consume(bootstrap, ends)
        for engine in engines:
            results[engine] = await _engine_run(
                settings.model_copy(update={"engine": engine, "group_id": f"bench-{engine}",
                                            "data_dir": f"{data_dir}/{engine}"}), ends, raw)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(ends.values())
    print(f"events            {total:,}")
    print(f"raw consume       {raw:,.0f} events/s (aiokafka getmany + JSON decode)")
    for engine, figures in results.items():
        print(f"{engine + ' pipeline':<17} {figures['pipeline_events_per_s']:,.0f} events/s "
              f"(decode, validate, windows, warehouse), ratio {figures['ratio']:.3f}, "
              f"spike to alert {figures['spike_alert_latency_s']:.2f} s")
    print(f"peak RSS          {peak_mb:,.0f} MB (the whole run)")
    summary: dict[str, object] = {"events": total, "raw_events_per_s": round(raw),
                                  "peak_rss_mb": round(peak_mb, 1)}
    if len(results) == 1:  # the single-engine keys as before
        summary.update(next(iter(results.values())))
    else:
        summary["engines"] = results
    print(json.dumps(summary))
    return 0


async def _engine_run(
    settings: Settings, ends: dict[tuple[str, int], int], raw: float
) -> dict[str, float]:
    warehouse = EmbeddedWarehouse(settings.data_dir)
    try:
        migrate(warehouse)
        worker = new_worker(settings, warehouse, client_id=f"bench-{settings.engine}",
                            exclusive=True)
        worker.until = ends
        started = time.perf_counter()
        await worker.run(asyncio.Event())  # ends after the last rows are written
        pipeline = sum(ends.values()) / (time.perf_counter() - started)
        latency = await spike_latency(settings, warehouse,
                                      publisher_id=f"bench-spike-{settings.engine}")
    finally:
        warehouse.close()
    return {"pipeline_events_per_s": round(pipeline), "ratio": round(pipeline / raw, 4),
            "spike_alert_latency_s": round(latency, 3)}


def _snapshot(creator: str, followers: int, at_ms: int) -> Envelope:
    return Envelope(FOLLOWERS_TOPIC, {
        "creator_id": creator, "followers_count": followers, "follows_count": 300,
        "observed_at": format_timestamp_ms(at_ms),
    })


async def spike_latency(
    settings: Settings, warehouse: EmbeddedWarehouse, publisher_id: str
) -> float:
    """Seconds from a bought-follower snapshot being acked to its alert row being readable.

    A live worker first takes in one creator's quiet history; then the spike is published
    and the warehouse polled, as the board does.
    """
    now = int(time.time() * 1000)
    creator = f"{SPIKING}-{settings.engine}"
    history = [_snapshot(creator, 10_000 + 3 * i, now - (60 - i) * 60_000) for i in range(60)]
    worker = new_worker(
        settings.model_copy(update={"group_id": f"bench-latency-{settings.engine}"}),
        warehouse, client_id="bench-latency", exclusive=True,
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run(stop))
    publisher = Publisher(settings.kafka_bootstrap, client_id=publisher_id)
    try:
        await asyncio.to_thread(publisher.publish, (envelope_to_outgoing(e) for e in history))
        written = "SELECT count() AS n FROM follower_snapshots WHERE creator_id = {c:String}"
        while await asyncio.to_thread(_count, warehouse, written, creator) < len(history):
            _check(runner)
            await asyncio.sleep(0.05)
        await asyncio.to_thread(
            publisher.publish, iter([envelope_to_outgoing(_snapshot(creator, 15_180, now))])
        )
        acked = time.perf_counter()
        alerted = "SELECT count() AS n FROM follower_spike_alerts WHERE creator_id = {c:String}"
        while not await asyncio.to_thread(_count, warehouse, alerted, creator):
            _check(runner)
            await asyncio.sleep(0.02)
        return time.perf_counter() - acked
    finally:
        publisher.close()
        stop.set()
        await runner


def _count(warehouse: EmbeddedWarehouse, sql: str, creator: str) -> int:
    return int(warehouse.query(sql, {"c": creator})[0]["n"])


def _check(runner: asyncio.Task[None]) -> None:
    if runner.done():
        runner.result()
        raise RuntimeError("the worker stopped before the spike was measured")


async def run_restore_bench(settings: Settings, creators: int, seed: int) -> int:
    """Seconds to restore the checkpointed state of ``creators`` creators from a changelog.

    Each creator has an open hour of interactions and a follower history; the state is
    checkpointed to a changelog on the embedded broker, then read back and rebuilt.
    """
    import random

    from campaignpulse.streams.contract import FollowerSnapshot, Interaction
    from campaignpulse.streams.pipeline import EngagementPipeline
    from campaignpulse.streams.state.store import RestoreReport
    from campaignpulse.worker.changelog import Changelog

    rng = random.Random(seed)  # noqa: S311 - synthetic load, not security
    hour = int(time.time() * 1000) // 3_600_000 * 3_600_000
    live = EngagementPipeline(settings.allowed_lateness_ms)
    started = time.perf_counter()
    for n in range(creators):
        creator = f"creator-{n:06d}"
        for i in range(10):
            live.aggregator.add(Interaction(
                f"{creator}-e{i}", creator, f"{creator}-m{i % 2}", "", rng.randrange(10),
                f"actor-{rng.randrange(1_000_000)}", hour + rng.randrange(3_000_000),
            ), n % 4)
        for i in range(3):
            live.spikes.observe_snapshot(FollowerSnapshot(
                creator, 10_000 + i * rng.randrange(20), 300, hour - (3 - i) * 600_000), n % 4)
    records = live.checkpoint(int(time.time() * 1000))
    built = time.perf_counter() - started
    with embedded_tansu() as bootstrap:
        changelog = Changelog(bootstrap, "bench-restore.state", "bench")
        await changelog.start(4)
        try:
            await changelog.write(records)
        finally:
            await changelog.stop()
        reader = Changelog(bootstrap, "bench-restore.state", "bench")
        started = time.perf_counter()
        read, read_s = await reader.read(range(4))
        fresh = EngagementPipeline(settings.allowed_lateness_ms)
        report = RestoreReport()
        for partition, partition_records in read.items():
            report.merge(fresh.restore(partition, partition_records))
        total = time.perf_counter() - started
    restored = report.keys.get("windows", 0)
    size_mb = sum(len(k) + len(v or b"") for _, k, v in records) / 1e6
    print(f"creators          {restored:,} ({report.items.get('events', 0):,} open-hour events)")
    print(f"changelog         {len(records):,} records, {size_mb:,.1f} MB (state built in "
          f"{built:.1f} s)")
    print(f"restore           {total:.2f} s ({read_s:.2f} s reading, "
          f"{total - read_s:.2f} s rebuilding)")
    print(json.dumps({"restore_creators": restored, "restore_records": len(records),
                      "restore_mb": round(size_mb, 1), "restore_s": round(total, 2),
                      "restore_read_s": round(read_s, 2)}))
    return 0 if restored == creators and not report.refused else 1
