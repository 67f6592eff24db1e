"""What the worker and replay refuse at once, in one line: input topics that are not
co-partitioned, a changelog of another partition count, replay of topics that do not
exist, and an embedded warehouse another process holds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from kafka.admin import KafkaAdminClient, NewTopic

from campaignpulse.broker import ensure_topics
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from tests.integration.services import ROOT, apache_kafka


def cli(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "campaignpulse.cli", *args], capture_output=True, text=True,
        timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGNPULSE_METRICS_PORT": "0", **env})
    return done, time.monotonic() - started


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_topics_that_are_not_co_partitioned_are_refused_at_once(tmp_path: Path) -> None:
    # a broker of its own: these topics are broken on purpose
    with apache_kafka(tmp_path) as bootstrap:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:  # a client named ig.followers first: it was created with one partition
            admin.create_topics([NewTopic("ig.followers", 1, 1)])
        finally:
            admin.close()
        env = {"CAMPAIGNPULSE_KAFKA_BOOTSTRAP": bootstrap, "CAMPAIGNPULSE_GROUP_ID": "checks",
               "CAMPAIGNPULSE_DATA_DIR": str(tmp_path / "wh")}
        done, seconds = cli("worker", **env)
        line = one_line(done)
        assert done.returncode == 1 and seconds < 30, (seconds, line)
        assert "ig.followers 1" in line and "ig.interactions 4" in line
        assert "recreate ig.followers with 4 partitions" in line

        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            admin.delete_topics(["ig.followers"])
            time.sleep(2)
            ensure_topics(Settings(kafka_bootstrap=bootstrap))
            admin.create_topics([NewTopic("checks.state", 2, 1)])
        finally:
            admin.close()
        done, seconds = cli("worker", **env)
        line = one_line(done)
        assert done.returncode == 1 and seconds < 30, (seconds, line)
        assert "checks.state has 2 partitions, the input topics 4" in line
        assert "CAMPAIGNPULSE_STATE_TOPIC" in line


def test_replay_of_topics_that_do_not_exist_says_so(kafka_bootstrap: str,
                                                     tmp_path: Path) -> None:
    done, _ = cli("replay", "--from", "2026-11-20T00:00:00Z", "--topics", "no.such.topic",
                  "--data-dir", str(tmp_path / "wh"),
                  CAMPAIGNPULSE_KAFKA_BOOTSTRAP=kafka_bootstrap)
    assert done.returncode == 1
    assert "none of the topics no.such.topic exists" in one_line(done)


def test_a_warehouse_another_process_holds_is_named(kafka_bootstrap: str,
                                                    tmp_path: Path) -> None:
    data = tmp_path / "wh"
    warehouse = EmbeddedWarehouse(str(data))  # this test process holds it, as a worker would
    migrate(warehouse)
    try:
        for args in (("sql", "--data-dir", str(data), "SELECT 1"),
                     ("replay", "--from", "2026-11-20T00:00:00Z", "--data-dir", str(data))):
            done, _ = cli(*args, CAMPAIGNPULSE_KAFKA_BOOTSTRAP=kafka_bootstrap)
            line = one_line(done)
            assert done.returncode == 1, line
            assert f"holds the embedded warehouse in {data}" in line and "stop it" in line
    finally:
        warehouse.close()
