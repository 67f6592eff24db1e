"""``campaignpulse bench``: the raw consume rate and the full pipeline rate, in one run.

Both read the same topics on the same embedded broker, so their ratio says how much of
the machine's Kafka read rate the pipeline keeps, whatever the machine.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from campaignpulse.bench_measure import median, medians, peak_mb, reset_peak, rss_mb, state_bytes
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


@dataclass
class RawRound:
    events_per_s: float
    cpu_us_per_event: float


async def raw_consume(bootstrap: str, ends: dict[tuple[str, int], int]) -> RawRound:
    """An aiokafka ``getmany`` loop that decodes JSON and nothing else, timed from the
    first record in hand to the last decoded (as the pipeline is)."""
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
        started = cpu = 0.0
        while seen < total:
            batch = await consumer.getmany(timeout_ms=500, max_records=20_000)
            if batch and not started:
                started, cpu = time.perf_counter(), time.process_time()
            for messages in batch.values():
                for message in messages:
                    orjson.loads(message.value)
                seen += len(messages)
        return RawRound(total / (time.perf_counter() - started),
                        (time.process_time() - cpu) / total * 1e6)
    finally:
        await consumer.stop()


async def run_bench(settings: Settings, events: int, seed: int,
                    engines: tuple[str, ...] = ("native",), creators: int = 200,
                    rounds: int = 3) -> int:
    """Interleaved rounds over the same records: raw, each engine's pipeline (its own
    group, changelog and warehouse), raw, pipeline ...; medians of the rounds. Then each
    engine's spike-to-alert latency."""
    raws: list[RawRound] = []
    runs: dict[str, list[dict[str, float]]] = {engine: [] for engine in engines}
    latency: dict[str, float] = {}
    load = os.getloadavg()
    with embedded_tansu() as bootstrap, tempfile.TemporaryDirectory() as data_dir:
        settings = settings.model_copy(update={"kafka_bootstrap": bootstrap, "metrics_port": 0,
                                               "faust_web_port": 0})
        ensure_topics(settings)
        simulator = CampaignSimulator(seed=seed, start_ms=int(time.time() * 1000) - 86_400_000,
                                      creators=creators)
        publisher = Publisher(bootstrap, client_id="bench-producer")
        await asyncio.to_thread(
            publisher.publish,
            (envelope_to_outgoing(e) for e in itertools.islice(simulator.events(), events)),
        )
        publisher.close()
        ends = finish_line(publisher.report)
        for n in range(rounds):
            gc.collect()
            raws.append(await raw_consume(bootstrap, ends))
            for engine in engines:
                group = f"bench-{engine}-{n}"
                round_settings = settings.model_copy(update={
                    "engine": engine, "group_id": group, "state_topic": f"{group}.state",
                    "data_dir": f"{data_dir}/{group}"})
                figures = await _engine_run(round_settings, ends, last=n == rounds - 1)
                figures["ratio"] = figures["pipeline_events_per_s"] / raws[-1].events_per_s
                if "spike_alert_latency_s" in figures:
                    latency[engine] = figures.pop("spike_alert_latency_s")
                runs[engine].append(figures)
    load_after = os.getloadavg()
    raw = median(r.events_per_s for r in raws)
    raw_cpu = median(r.cpu_us_per_event for r in raws)
    total = sum(ends.values())
    results = {engine: _summary(medians(figures), latency.get(engine, 0.0))
               for engine, figures in runs.items()}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events            {total:,} ({creators:,} creators), {rounds} interleaved rounds, "
          f"load average {load[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"raw consume       {raw:,.0f} events/s, {raw_cpu:.1f} CPU-µs/event (aiokafka "
          f"getmany + JSON decode; rounds {_rates(r.events_per_s for r in raws)})")
    for engine, f in results.items():
        print(f"{engine + ' pipeline':<17} {f['pipeline_events_per_s']:,.0f} events/s, "
              f"{f['pipeline_cpu_us_per_event']:.1f} CPU-µs/event, ratio {f['ratio']:.3f} "
              f"(rounds {_rates(r['pipeline_events_per_s'] for r in runs[engine])}; "
              f"first record to last commit)")
        print(f"  start-up        {f['startup_s']:.2f} s before the first record "
              f"(restore {f['restore_s']:.2f} s), not in the rate")
        print(f"  memory          {f['rss_baseline_mb']:,.0f} MB with the warehouse open, "
              f"+{f['rss_growth_mb']:,.0f} MB at peak; state {f['state_bytes_per_creator']:,.0f}"
              f" bytes per active creator ({f['active_creators']:,.0f} active)")
        print(f"  writes          {f['rows_per_event']:.3f} rows/event, changelog "
              f"{f['changelog_records_per_event']:.4f} records and "
              f"{f['changelog_bytes_per_event']:,.0f} bytes/event")
        print(f"  spike to alert  {f['spike_alert_latency_s']:.2f} s")
    print(f"peak RSS          {peak_mb:,.0f} MB (the whole run)")
    summary: dict[str, object] = {
        "events": total, "creators": creators, "rounds": rounds,
        "raw_events_per_s": round(raw), "raw_cpu_us_per_event": round(raw_cpu, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "load_average": [round(load[0], 2), round(load_after[0], 2)],
        "raw_rounds": [round(r.events_per_s) for r in raws],
    }
    if len(results) == 1:  # the single-engine keys as before
        engine, figures = next(iter(results.items()))
        summary.update(figures)
        summary["pipeline_rounds"] = [round(r["pipeline_events_per_s"]) for r in runs[engine]]
    else:
        summary["engines"] = results
    print(json.dumps(summary))
    return 0


def _rates(values: Iterable[float]) -> str:
    return " ".join(f"{v / 1000:.1f}k" for v in values)


def _summary(f: dict[str, float], latency: float) -> dict[str, float]:
    rounded = {key: round(value, 4 if key.endswith("_per_event") or key == "ratio" else 2)
               for key, value in f.items()}
    rounded["pipeline_events_per_s"] = round(f["pipeline_events_per_s"])
    rounded["spike_alert_latency_s"] = round(latency, 3)
    return rounded


async def _engine_run(
    settings: Settings, ends: dict[tuple[str, int], int], last: bool
) -> dict[str, float]:
    """One pipeline round on a fresh group, changelog and warehouse; the spike latency
    too on the ``last``."""
    warehouse = EmbeddedWarehouse(settings.data_dir)
    try:
        migrate(warehouse)
        gc.collect()
        baseline = rss_mb()
        reset_peak()
        worker = new_worker(settings, warehouse, client_id=f"bench-{settings.engine}",
                            exclusive=True)
        worker.until = ends
        started = time.perf_counter()
        await worker.run(asyncio.Event())  # ends after the last rows are written
        stats, total = worker.stats, sum(ends.values())
        growth = peak_mb() - baseline
        wall = stats.last_flush_at - stats.first_record_at
        state = state_bytes(worker.pipeline)
        active = max(1, worker.pipeline.aggregator.creators())
        figures = {
            "pipeline_events_per_s": total / wall,
            "pipeline_cpu_us_per_event": (stats.last_flush_cpu - stats.first_record_cpu)
            / total * 1e6,
            "startup_s": stats.first_record_at - started,
            "restore_s": sum(seconds for _, _, seconds in worker.host.restores),
            "rss_baseline_mb": baseline,
            "rss_growth_mb": growth,
            "active_creators": active,
            "state_bytes_per_creator": sum(state.values()) / active,
            "rows_per_event": stats.rows_written / total,
            "changelog_records_per_event": stats.changelog_records / total,
            "changelog_bytes_per_event": stats.changelog_bytes / total,
        }
        figures.update({f"state_{name}_bytes_per_creator": size / active
                        for name, size in state.items() if size})
        del worker
        if last:
            figures["spike_alert_latency_s"] = await spike_latency(
                settings, warehouse, publisher_id=f"bench-spike-{settings.engine}")
    finally:
        warehouse.close()
    return figures


def _snapshot(creator: str, followers: int, at_ms: int) -> Envelope:
    return Envelope(FOLLOWERS_TOPIC, {
        "creator_id": creator, "followers_count": followers, "follows_count": 300,
        "observed_at": format_timestamp_ms(at_ms),
    })


async def spike_latency(
    settings: Settings, warehouse: EmbeddedWarehouse, publisher_id: str
) -> float:
    """Seconds from a bought-follower snapshot being acked to its alert row being readable.

    A live worker (the run's group, its state restored) first takes in one creator's quiet
    history; then the spike is published and the warehouse polled, as the board does.
    """
    now = int(time.time() * 1000)
    creator = f"{SPIKING}-{settings.engine}"
    history = [_snapshot(creator, 10_000 + 3 * i, now - (60 - i) * 60_000) for i in range(60)]
    # the group and changelog of the run before: it restores that state and reads on
    # from where the run stopped, as a restarted live worker does
    worker = new_worker(settings, warehouse, client_id="bench-latency", exclusive=True)
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
