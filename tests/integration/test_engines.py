"""Both engines on real Apache Kafka: a group switches engines without a rebuild, a second
worker joining mid-stream splits co-partitioned work, and a file published by kcat goes
through ``campaignpulse worker`` with a SIGKILL in the middle."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from campaignpulse.broker import ensure_topics, free_port
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.contract_campaigns import WORKER_TOPICS
from campaignpulse.worker.engines import Engine, new_worker
from campaignpulse.worker.records import finish_line
from tests.integration.services import ROOT
from tests.integration.state_files import (
    assert_matches,
    expected,
    make_lines,
    publish_lines,
    start_group_at_the_end,
)
from tests.integration.test_state_kill import (  # noqa: F401 - the fixture kills leftovers
    kill_at_checkpoint,
    no_worker_left,
    start_worker,
)
from tests.integration.test_state_restart import committed


def settings_for(bootstrap: str, group: str, engine: str, **more: Any) -> Settings:
    return Settings(**{"kafka_bootstrap": bootstrap, "group_id": group, "engine": engine,
                       "flush_interval_s": 0.3, "metrics_port": 0, "faust_web_port": 0, **more})


async def run_until(worker: Engine, ends: dict[tuple[str, int], int]) -> None:
    worker.until = ends
    await asyncio.wait_for(worker.run(asyncio.Event()), timeout=180)


def test_a_group_switches_engines_and_rereads_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    lines = make_lines("sw", 15_000, creators=20)
    parts = [lines[:5_000], lines[5_000:10_000], lines[10_000:]]
    group = "engine-switch"
    ensure_topics(settings_for(kafka_bootstrap, group, "native"))
    asyncio.run(start_group_at_the_end(kafka_bootstrap, group))
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    migrate(warehouse)
    try:
        for n, (engine, part) in enumerate(zip(("native", "faust", "native"), parts,
                                               strict=True)):
            report = publish_lines(kafka_bootstrap, part, tmp_path / f"part{n}.jsonl")
            worker = new_worker(settings_for(kafka_bootstrap, group, engine), warehouse,
                                client_id=f"switch-{n}")
            asyncio.run(run_until(worker, finish_line(report)))
            # nothing the previous engine committed is read again ...
            assert worker.stats.records == sum(report.by_topic.values()), engine
            # ... its state came from the changelog the previous engine wrote ...
            if n:
                restored = sum(restore.keys.get("spikes", 0)  # every creator's spike state
                               for _, restore, _ in worker.host.restores)
                assert restored == 20, (engine, worker.host.restores)
            # ... and this engine committed at the log end
            assert committed(kafka_bootstrap, group, report.next_offsets) == report.next_offsets
            assert_matches(warehouse, "sw", expected(lines[: 5_000 * (n + 1)]))
    finally:
        warehouse.close()


def partitions_by_topic(worker: Engine) -> dict[str, set[int]]:
    """The worker's current input assignment, read from its group member."""
    consumer: Any = worker.app.consumer if hasattr(worker, "app") else worker._consumer
    got: dict[str, set[int]] = defaultdict(set)
    for tp in consumer.assignment():
        if tp.topic in WORKER_TOPICS:
            got[tp.topic].add(tp.partition)
    return got


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def test_a_second_worker_joins_mid_stream_and_the_result_equals_the_recount(
    kafka_bootstrap: str, tmp_path: Path, engine: str
) -> None:
    lines = make_lines(f"rb{engine[0]}", 16_000, creators=24)
    first, second = lines[:8_000], lines[8_000:]
    group = f"rebalance-{engine}"
    ports = [free_port(), free_port()] if engine == "faust" else [0, 0]
    ensure_topics(settings_for(kafka_bootstrap, group, engine))
    asyncio.run(start_group_at_the_end(kafka_bootstrap, group))
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    migrate(warehouse)
    workers = [new_worker(settings_for(kafka_bootstrap, group, engine, faust_web_port=port),
                          warehouse, client_id=f"rebalance-{n}")
               for n, port in enumerate(ports)]

    async def scenario() -> dict[tuple[str, int], int]:
        stop = asyncio.Event()
        a = asyncio.create_task(workers[0].run(stop))
        ends = dict(publish_lines(kafka_bootstrap, first, tmp_path / "first.jsonl").next_offsets)
        while workers[0].stats.records < 2_000:
            assert not a.done(), a.result()
            await asyncio.sleep(0.1)
        b = asyncio.create_task(workers[1].run(stop))
        for _ in range(1200):  # the second half once the joiner holds partitions
            if workers[1].host.restores:
                break
            assert not b.done(), b.result()
            await asyncio.sleep(0.1)
        report = await asyncio.to_thread(publish_lines, kafka_bootstrap, second,
                                         tmp_path / "second.jsonl")
        for tp, end in report.next_offsets.items():
            ends[tp] = max(end, ends.get(tp, 0))
        deadline = time.monotonic() + 180
        while await asyncio.to_thread(committed, kafka_bootstrap, group, ends) != ends:
            assert time.monotonic() < deadline, [w.stats.records for w in workers]
            for task in (a, b):
                assert not task.done(), task.result()
            await asyncio.sleep(0.5)
        if engine == "faust":
            await check_creator_view(ports, f"rb{engine[0]}", workers)
        for worker in workers:  # partition k of every input topic on one worker
            held = partitions_by_topic(worker)
            assert held and len({frozenset(p) for p in held.values()}) == 1, held
            assert set(held) == set(WORKER_TOPICS), held
        stop.set()
        await asyncio.wait_for(asyncio.gather(a, b), timeout=60)
        return ends

    try:
        ends = asyncio.run(scenario())
        assert all(w.stats.records > 0 for w in workers)
        assert workers[1].host.restores  # the joiner took partitions with their state
        assert committed(kafka_bootstrap, group, ends) == ends
        assert assert_matches(warehouse, f"rb{engine[0]}", expected(lines)) > 500
    finally:
        warehouse.close()


async def check_creator_view(ports: list[int], prefix: str, workers: list[Engine]) -> None:
    """Each worker's web port answers for every creator: Faust routes to the owner."""
    held_by_second = [c for c in (f"{prefix}-{i:05d}" for i in range(24))
                      if workers[1].pipeline.creator_view(c) is not None]
    assert held_by_second
    creator = held_by_second[0]
    status, body = await asyncio.to_thread(
        get_json, f"http://127.0.0.1:{ports[0]}/campaignpulse/creators/{creator}/")
    assert status == 200, status
    assert body == json.loads(json.dumps(workers[1].pipeline.creator_view(creator)))
    assert body["engagement"]["open_windows"], body
    status, _ = await asyncio.to_thread(
        get_json, f"http://127.0.0.1:{ports[1]}/campaignpulse/creators/nobody-here/")
    assert status == 404


def test_a_kcat_file_through_the_worker_command_with_a_sigkill_equals_the_recount(
    kafka_bootstrap: str, tmp_path: Path, engine: str
) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.fail("install kcat (.ci/run does)")
    prefix = f"kc{engine[0]}"
    lines = make_lines(prefix, 12_000, creators=30, seed=23)  # a file no other test uses
    group = f"kcat-{engine}"
    ensure_topics(settings_for(kafka_bootstrap, group, engine))
    asyncio.run(start_group_at_the_end(kafka_bootstrap, group))
    by_topic: dict[str, list[bytes]] = defaultdict(list)
    for line in lines:
        envelope = json.loads(line)
        value = envelope["value"]
        by_topic[envelope["topic"]].append(
            value["creator_id"].encode() + b"\t" + json.dumps(value).encode() + b"\n")
    for topic, records in by_topic.items():  # kcat: its own partitioner, key<TAB>value
        subprocess.run([kcat, "-P", "-b", kafka_bootstrap, "-t", topic, "-K", "\t"],
                       input=b"".join(records), check=True, timeout=120)
    ends = {tp: end for tp, end in end_offsets(kafka_bootstrap).items()
            if end > committed(kafka_bootstrap, group, [tp])[tp]}
    data_dir = tmp_path / "wh"
    log: list[str] = []
    worker = start_worker(kafka_bootstrap, data_dir, group, engine)
    assert kill_at_checkpoint(worker, 3, log), "".join(log[-30:])
    assert any(committed(kafka_bootstrap, group, ends)[tp] < end for tp, end in ends.items())

    worker = start_worker(kafka_bootstrap, data_dir, group, engine)
    drain = threading.Thread(target=lambda: log.extend(worker.stderr or ()), daemon=True)
    drain.start()
    deadline = time.monotonic() + 180
    while (now := committed(kafka_bootstrap, group, ends)) != ends:
        assert worker.poll() is None, "".join(log[-30:])
        behind = {tp: (now[tp], end) for tp, end in ends.items() if now[tp] != end}
        assert time.monotonic() < deadline, f"committed, end: {behind}\n" + "".join(log[-30:])
        time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0, "".join(log[-30:])
    assert any("restored partitions" in line for line in log)
    assert committed(kafka_bootstrap, group, ends) == ends  # at the log end, and no further
    warehouse = EmbeddedWarehouse(str(data_dir))
    try:
        assert assert_matches(warehouse, prefix, expected(lines)) > 1000
    finally:
        warehouse.close()


def end_offsets(bootstrap: str) -> dict[tuple[str, int], int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(t, p) for t in WORKER_TOPICS
                 for p in consumer.partitions_for_topic(t) or ()]
        return {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def test_faust_own_worker_command_runs_the_app(kafka_bootstrap: str, tmp_path: Path) -> None:
    """``faust -A campaignpulse.worker.faust_app worker``, as the README shows it."""
    lines = make_lines("fw", 4_000, creators=10, seed=31)
    group, port = "faust-cli", free_port()
    ensure_topics(settings_for(kafka_bootstrap, group, "faust"))
    asyncio.run(start_group_at_the_end(kafka_bootstrap, group))
    ends = publish_lines(kafka_bootstrap, lines, tmp_path / "events.jsonl").next_offsets
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "CAMPAIGNPULSE_GROUP_ID": group, "CAMPAIGNPULSE_DATA_DIR": str(tmp_path / "wh"),
           "CAMPAIGNPULSE_METRICS_PORT": "0", "CAMPAIGNPULSE_FAUST_WEB_PORT": str(port)}
    env.pop("CAMPAIGNPULSE_CLICKHOUSE_URL", None)
    out = (tmp_path / "faust.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "faust", "-A", "campaignpulse.worker.faust_app", "worker",
         "-l", "info"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while committed(kafka_bootstrap, group, ends) != ends:
            assert worker.poll() is None, (tmp_path / "faust.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "faust.log").read_text()[-3000:]
            time.sleep(0.5)
        status, body = get_json(f"http://127.0.0.1:{port}/campaignpulse/creators/fw-00001/")
        assert status == 200 and body["creator_id"] == "fw-00001", (status, body)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
        out.close()
    assert code == 0, (tmp_path / "faust.log").read_text()[-3000:]
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        assert assert_matches(warehouse, "fw", expected(lines)) > 100
    finally:
        warehouse.close()
