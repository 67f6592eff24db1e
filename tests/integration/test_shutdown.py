"""The first SIGINT/SIGTERM stops a real process quickly, durably, with its summary."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from campaignpulse.broker import ensure_topics, free_port
from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from campaignpulse.streams.contract import INPUT_TOPICS
from campaignpulse.streams.timestamps import parse_timestamp_ms
from tests.integration.kafka_topics import forget_inputs


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "campaignpulse.cli", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, **env},
    )


def stop(process: subprocess.Popen[str], sig: int) -> tuple[float, str, str]:
    sent = time.monotonic()
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return time.monotonic() - sent, out, err


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as page:  # noqa: S310
        text = page.read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def test_ctrl_c_stops_the_demo_with_its_summary(tmp_path: Path) -> None:
    data = tmp_path / "d"
    # the board is on, but stdout is a pipe: nothing but the summary may be written
    demo = start("demo", "--duration", "300", "--data-dir", str(data),
                 env={"CAMPAIGNPULSE_FLUSH_INTERVAL_S": "0.5"})
    time.sleep(20)  # Tansu up, the simulator publishing, the worker writing
    assert demo.poll() is None, demo.communicate()
    took, out, err = stop(demo, signal.SIGINT)
    assert demo.returncode == 130, err
    assert took < 15, f"took {took:.1f}s to stop"
    assert "Traceback" not in err and "ERROR" not in err, err
    assert "\x1b" not in out and out.startswith("processed"), out
    processed = re.search(r"processed ([\d,]+) events", out)
    assert processed is not None, out
    events = int(processed.group(1).replace(",", ""))
    assert events > 1000
    warehouse = EmbeddedWarehouse(str(data))
    try:  # what the summary counted is in the warehouse
        rows = warehouse.query("SELECT count() AS n FROM creator_windows")
        assert int(rows[0]["n"]) > 0
    finally:
        warehouse.close()


def test_sigterm_stops_the_worker_after_committing(kafka_bootstrap: str, tmp_path: Path) -> None:
    from kafka import KafkaConsumer, TopicPartition

    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    ensure_topics(settings)
    simulator = CampaignSimulator(seed=21, start_ms=parse_timestamp_ms("2026-11-20T00:00:00Z"),
                                  creators=30)
    publisher = Publisher(kafka_bootstrap, client_id="shutdown-test")
    publisher.publish(envelope_to_outgoing(e) for e in itertools.islice(simulator.events(), 3000))
    publisher.close()

    group, port = f"shutdown-{os.getpid()}", free_port()
    worker = start("worker", env={
        "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap, "CAMPAIGNPULSE_GROUP_ID": group,
        "CAMPAIGNPULSE_METRICS_PORT": str(port), "CAMPAIGNPULSE_DATA_DIR": str(tmp_path / "w"),
        "CAMPAIGNPULSE_FLUSH_INTERVAL_S": "0.5",
    })
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert worker.poll() is None, worker.communicate()
        try:
            if metric(port, "campaignpulse_sink_rows_total") > 0:
                break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        raise AssertionError("the worker wrote nothing in 90 s")
    took, out, err = stop(worker, signal.SIGTERM)
    forget_inputs(kafka_bootstrap)
    assert worker.returncode == 0, err
    assert took < 15, f"took {took:.1f}s to stop"
    assert "Traceback" not in err and "ERROR" not in err, err
    assert re.search(r"processed [\d,]+ events", out), out

    reader = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group,
                           enable_auto_commit=False)
    try:
        committed = [reader.committed(TopicPartition(topic, p)) or 0
                     for topic in INPUT_TOPICS for p in reader.partitions_for_topic(topic) or ()]
    finally:
        reader.close()
    assert sum(committed) > 0


def test_ctrl_c_stops_the_producer_with_its_report(kafka_bootstrap: str) -> None:
    producer = start("produce", "simulate", "--rate", "500", "--start", "2026-11-21T00:00:00Z",
                     env={"CAMPAIGNPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap})
    time.sleep(6)
    assert producer.poll() is None, producer.communicate()
    took, out, err = stop(producer, signal.SIGINT)
    forget_inputs(kafka_bootstrap)
    assert producer.returncode == 130, err
    assert took < 10, f"took {took:.1f}s to stop"
    assert "Traceback" not in err, err
    published = json.loads(out.splitlines()[0])["published"]
    assert sum(published.values()) >= 200
