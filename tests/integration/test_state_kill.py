"""SIGKILL of a worker process while it writes its state checkpoint loses and
double-counts nothing: the restarted worker's warehouse equals the recount."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaignpulse.broker import ensure_topics
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from tests.integration.services import ROOT
from tests.integration.state_files import (
    assert_matches,
    expected,
    make_lines,
    publish_lines,
    start_group_at_the_end,
    stop_once_committed,
)
from tests.integration.test_state_restart import committed

#: worker processes started by a test; killed when it ends, passed or failed (one left
#: running reads the next tests' topics and writes their dead letters a second time)
_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_worker_left() -> Iterator[None]:
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait(30)


def start_worker(bootstrap: str, data_dir: Path, group: str,
                 engine: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": bootstrap,
           "CAMPAIGNPULSE_GROUP_ID": group, "CAMPAIGNPULSE_DATA_DIR": str(data_dir),
           "CAMPAIGNPULSE_FAUST_WEB_PORT": "0",
           "CAMPAIGNPULSE_METRICS_PORT": "0", "CAMPAIGNPULSE_FLUSH_INTERVAL_S": "0.05",
           "CAMPAIGNPULSE_MAX_BATCH_RECORDS": "400"}
    env.pop("CAMPAIGNPULSE_CLICKHOUSE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "campaignpulse.cli", "-v", "worker", "--engine", engine],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    _started.append(process)
    return process


def kill_at_checkpoint(process: subprocess.Popen[str], nth: int, log: list[str]) -> bool:
    """SIGKILL right when the worker logs its ``nth`` checkpoint with records to write."""
    seen = 0
    assert process.stderr is not None
    watchdog = threading.Timer(120, process.kill)  # no such checkpoint: fail, do not hang
    watchdog.start()
    for line in process.stderr:
        log.append(line)
        if "checkpoint:" in line:
            seen += 1
            if seen == nth:
                process.send_signal(signal.SIGKILL)
                process.wait(30)
                watchdog.cancel()
                return True
    watchdog.cancel()
    return False


def test_sigkill_during_checkpoints_then_restart_equals_recount(
    kafka_bootstrap: str, tmp_path: Path, engine: str
) -> None:
    group = f"state-kill-{engine}"
    lines = make_lines("sk", 14_000, seed=9)
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id=group, metrics_port=0)
    ensure_topics(settings)
    asyncio.run(start_group_at_the_end(kafka_bootstrap, group))
    report = publish_lines(kafka_bootstrap, lines, tmp_path / "events.jsonl")
    ends = report.next_offsets
    data_dir = tmp_path / "wh"
    log: list[str] = []
    kills = 0
    for nth in (3, 2):  # two crashes, each in the middle of a checkpoint
        worker = start_worker(kafka_bootstrap, data_dir, group, engine)
        killed = kill_at_checkpoint(worker, nth, log)
        assert killed, "".join(log[-30:])
        kills += 1
    assert kills == 2
    before_restart = committed(kafka_bootstrap, group, ends)
    assert any(before_restart.get(tp, 0) < end for tp, end in ends.items())

    worker = start_worker(kafka_bootstrap, data_dir, group, engine)
    drain = threading.Thread(target=lambda: log.extend(worker.stderr or ()), daemon=True)
    drain.start()
    stop_once_committed(worker, log, kafka_bootstrap, group, ends)
    assert any("restored partitions" in line for line in log)
    warehouse = EmbeddedWarehouse(str(data_dir))
    try:
        assert assert_matches(warehouse, "sk", expected(lines)) > 1000
    finally:
        warehouse.close()
