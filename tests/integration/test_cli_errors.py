"""User errors end in one line that says what to do, and `sql` only ever reads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from campaignpulse.broker import free_port
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from tests.integration.services import ClickHouseServer


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignpulse.cli", *args], capture_output=True, text=True,
        timeout=timeout, check=False, cwd=cwd, env={**os.environ, **(env or {})},
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_sql_on_a_missing_directory_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    done = cli("sql", "--data-dir", str(missing), "SELECT 1")
    assert done.returncode == 1
    assert "no warehouse in" in one_line_error(done)
    assert not missing.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    done = cli("sql", "--data-dir", str(empty), "SELECT 1")
    assert done.returncode == 1 and list(empty.iterdir()) == []

    here = tmp_path / "cwd"
    here.mkdir()
    done = cli("sql", "SELECT count() FROM engagement_hour", cwd=here,
               env={"CAMPAIGNPULSE_DATA_DIR": "./campaignpulse-data"})
    assert done.returncode == 1 and "campaignpulse-data" in one_line_error(done)
    assert list(here.iterdir()) == []


def test_sql_errors_are_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    warehouse = EmbeddedWarehouse(str(tmp_path / "w"))
    migrate(warehouse)
    warehouse.close()
    typo = cli("sql", "--data-dir", str(tmp_path / "w"), "SELEC count() FROM media")
    assert typo.returncode == 1
    assert "SYNTAX_ERROR" in one_line_error(typo)
    debug = cli("--debug", "sql", "--data-dir", str(tmp_path / "w"), "SELEC count() FROM media")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_unreachable_clickhouse_gives_up_after_the_connect_timeout() -> None:
    started = time.monotonic()
    done = cli("sql", "--clickhouse-url", f"clickhouse://127.0.0.1:{free_port()}", "SELECT 1",
               env={"CAMPAIGNPULSE_CONNECT_TIMEOUT_S": "2"})
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    assert "cannot reach ClickHouse" in one_line_error(done)


def test_a_url_that_is_not_clickhouse_is_a_usage_error() -> None:
    done = cli("sql", "--clickhouse-url", "http://localhost:8123", "SELECT 1")
    assert done.returncode == 2 and "clickhouse://" in one_line_error(done)


def test_worker_without_a_broker_gives_up_in_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    done = cli("worker", env={
        "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "CAMPAIGNPULSE_CONNECT_TIMEOUT_S": "3", "CAMPAIGNPULSE_METRICS_PORT": "0",
        "CAMPAIGNPULSE_DATA_DIR": str(tmp_path / "w"),
    })
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    assert "cannot reach Kafka" in one_line_error(done)


def test_missing_demo_extra_is_named(tmp_path: Path) -> None:
    # a chdb that is not installed: importing it fails as it would without the extra
    fake = tmp_path / "site" / "chdb"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'chdb'\", name='chdb')\n")
    env = {"PYTHONPATH": f"{tmp_path / 'site'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "CAMPAIGNPULSE_DATA_DIR": str(tmp_path / "w")}
    for command in (["migrate"], ["worker"]):
        done = cli(*command, env=env)
        assert done.returncode == 1
        assert "pip install 'campaignpulse[demo]'" in one_line_error(done)


def test_sql_on_a_server_keeps_percent_signs(clickhouse_server: ClickHouseServer) -> None:
    env = {"CAMPAIGNPULSE_CLICKHOUSE_URL": clickhouse_server.url}
    assert cli("migrate", env=env).returncode == 0
    done = cli("sql", "--clickhouse-url", clickhouse_server.url, "--format", "json",
               "SELECT 'sponsored #ad' LIKE '%ad%' AS hit, "
               "formatDateTime(toDateTime(86400 * 365, 'UTC'), '%Y-%m') AS month, "
               "count() AS alerts FROM follower_spike_alerts WHERE status LIKE '%ir%'")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"hit": 1, "month": "1971-01", "alerts": 0}'
