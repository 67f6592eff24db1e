"""Durable state through real Apache Kafka: commits at the head, restarts that re-read
nothing, idle creators leaving memory, and a spike alert that resolves after a restart."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from campaignpulse.broker import ensure_topics
from campaignpulse.producers.publisher import Publisher, PublishReport, envelope_to_outgoing
from campaignpulse.producers.simulator import Envelope
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.contract import FOLLOWERS_TOPIC
from campaignpulse.streams.timestamps import format_timestamp_ms
from campaignpulse.worker.engines import Engine, new_worker
from campaignpulse.worker.records import finish_line
from tests.integration.state_files import (
    assert_matches,
    event_ms,
    expected,
    make_lines,
    publish_lines,
    start_group_at_the_end,
)

SPIKING = "st-spiking"


def snapshots(start_ms: int, minutes: range, followers: list[int]) -> list[Envelope]:
    return [Envelope(FOLLOWERS_TOPIC, {
        "creator_id": SPIKING, "followers_count": followers[i], "follows_count": 400,
        "observed_at": format_timestamp_ms(start_ms + m * 60_000)})
        for i, m in enumerate(minutes)]


def publish(bootstrap: str, envelopes: list[Envelope]) -> PublishReport:
    publisher = Publisher(bootstrap, client_id="state-spike")
    report = publisher.publish(envelope_to_outgoing(e) for e in envelopes)
    publisher.close()
    return report


def firing_rows(warehouse: EmbeddedWarehouse) -> list[dict]:
    return warehouse.query(
        "SELECT alert_id, status, version FROM follower_spike_alerts FINAL "
        "WHERE creator_id = {c:String}", {"c": SPIKING})


def committed(
    bootstrap: str, group: str, tps: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """The group's committed offsets (0 where none), read without joining the group."""

    async def read() -> dict[tuple[str, int], int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            return {tp: await consumer.committed(TopicPartition(*tp)) or 0 for tp in tps}
        finally:
            await consumer.stop()

    return asyncio.run(read())


def idle_in_event_time(lines: list[str], creators: Iterable[str], lateness_ms: int) -> set[str]:
    """Creators whose last interaction is more than the lateness and an hour before the
    newest: every window of theirs has closed, so they may leave memory. The simulator's
    day depends on the hour a test runs, so an "active" creator can be one of them."""
    last: dict[str, int] = {}
    for line in lines:
        if '"ig.interactions"' in line:
            for creator in creators:
                if f'"{creator}"' in line:
                    last[creator] = max(last.get(creator, 0), event_ms(line))
    newest = max(last.values())
    return {c for c, at in last.items() if at < newest - lateness_ms - 3_600_000}


def retired_creators(worker: Engine) -> set[str]:
    aggregator = worker.host.pipeline.aggregator
    return {c for c, state in aggregator._creators.items() if state.retired}


async def run_for(worker: Engine, seconds: float) -> None:
    """Run ``seconds`` past the worker's first restore (joining a group takes a while)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(600):
        if task.done() or worker.host.restores:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.wait_for(task, timeout=60)


def test_quiet_creators_do_not_pin_commits_and_a_restart_rereads_nothing(
    kafka_bootstrap: str, tmp_path: Path, engine: str
) -> None:
    lines = make_lines("qc", 16_000, creators=10)  # ten creators: 2.7 h of event time
    start = event_ms(next(line for line in lines if '"ig.interactions"' in line))
    # half the creators go quiet half an hour in: no record of theirs after that
    cut = next(i for i, line in enumerate(lines) if event_ms(line) >= start + 30 * 60_000)
    quiet = {f"qc-{i:05d}" for i in range(5)}
    lines = lines[:cut] + [line for line in lines[cut:]
                           if not any(f'"{c}"' in line for c in quiet)]
    first, second = lines[: len(lines) * 2 // 3], lines[len(lines) * 2 // 3:]
    group = f"state-quiet-{engine}"
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id=group, engine=engine,
                        flush_interval_s=0.3, metrics_port=0, faust_web_port=0,
                        state_idle_s=2.0)
    ensure_topics(settings)
    asyncio.run(start_group_at_the_end(kafka_bootstrap, settings.group_id))
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    migrate(warehouse)
    try:
        report = publish_lines(kafka_bootstrap, first, tmp_path / "first.jsonl")
        worker = new_worker(settings, warehouse, client_id="quiet-1")
        worker.until = finish_line(report)
        asyncio.run(asyncio.wait_for(worker.run(asyncio.Event()), timeout=180))
        # every partition committed at its log end, though quiet creators' windows are open
        ends = report.next_offsets
        assert committed(kafka_bootstrap, group, ends) == ends
        assert worker.pipeline.aggregator.open_windows() > 0
        assert_matches(warehouse, "qc", expected(first))

        # restart at the head, with more data for the creators still active
        report2 = publish_lines(kafka_bootstrap, second, tmp_path / "second.jsonl")
        published = sum(report2.by_topic.values())
        worker2 = new_worker(settings, warehouse, client_id="quiet-2")

        async def second_run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(worker2.run(stop))
            deadline = time.monotonic() + 120
            while worker2.stats.records < published and time.monotonic() < deadline:
                if task.done():
                    task.result()
                await asyncio.sleep(0.2)
            open_then = worker2.pipeline.aggregator.open_windows()
            await asyncio.sleep(settings.state_idle_s + 2 * settings.flush_interval_s + 1)
            stop.set()
            await asyncio.wait_for(task, timeout=60)
            assert open_then > 0
            # quiet creators left memory once idle and passed: open windows do not pile up
            assert worker2.pipeline.aggregator.open_windows() < open_then
            retired = retired_creators(worker2)
            idle = idle_in_event_time(lines, [f"qc-{i:05d}" for i in range(10)],
                                      int(settings.allowed_lateness_s * 1000))
            assert quiet <= idle
            assert retired and retired <= idle, (retired, idle)

        asyncio.run(second_run())
        [(_, restored, seconds)] = worker2.host.restores
        # every creator's spike state, the windows of those with interactions so far
        assert restored.keys["spikes"] == 10 and restored.items["events"] > 0
        assert restored.refused == 0 and restored.unfinished == 0
        reread = worker2.stats.records - published
        print(f"\nrecords re-read after restart: {reread}; restore {seconds:.2f}s "
              f"({restored.records} changelog records)")
        assert reread == 0
        ends = report2.next_offsets
        assert committed(kafka_bootstrap, group, ends) == ends
        assert_matches(warehouse, "qc", expected(lines))

        # a third start: nothing new, nothing re-read, the retired creators come back small
        worker3 = new_worker(settings, warehouse, client_id="quiet-3")
        asyncio.run(run_for(worker3, 3.0))
        assert worker3.stats.records == 0
        assert retired_creators(worker3) == retired_creators(worker2)
        assert_matches(warehouse, "qc", expected(lines))
    finally:
        warehouse.close()


def test_open_spike_alert_survives_a_restart_and_resolves(
    kafka_bootstrap: str, tmp_path: Path, engine: str
) -> None:
    rng = random.Random(2)
    followers = [30_000]
    for _ in range(80):
        followers.append(followers[-1] + rng.randint(0, 8))
    followers.append(followers[-1] + 5_000)
    start = int(time.time() * 1000) - 3 * 3_600_000
    before = snapshots(start, range(82), followers)
    after = snapshots(start, range(82, 85), [followers[-1] + 3 * i for i in range(1, 4)])
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id=f"state-spike-{engine}",
                        engine=engine, flush_interval_s=0.3, metrics_port=0, faust_web_port=0)
    ensure_topics(settings)
    asyncio.run(start_group_at_the_end(kafka_bootstrap, settings.group_id))
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    migrate(warehouse)
    try:
        first = new_worker(settings, warehouse, client_id="spike-1")
        first.until = finish_line(publish(kafka_bootstrap, before))
        asyncio.run(asyncio.wait_for(first.run(asyncio.Event()), timeout=120))
        rows = [r for r in firing_rows(warehouse) if r["status"] == "firing"]
        assert len(rows) == 1
        [opened] = rows

        report = publish(kafka_bootstrap, after)
        second = new_worker(settings, warehouse, client_id="spike-2")
        second.until = finish_line(report)
        asyncio.run(asyncio.wait_for(second.run(asyncio.Event()), timeout=120))
        assert second.stats.records == len(after)  # history not read again
        now = {r["alert_id"]: r for r in firing_rows(warehouse)}
        assert now[opened["alert_id"]]["status"] == "resolved"
        assert now[opened["alert_id"]]["version"] > opened["version"]
        assert SPIKING in second.pipeline.spikes._creators
    finally:
        warehouse.close()
