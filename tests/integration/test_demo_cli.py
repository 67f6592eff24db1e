"""The README's demo, run as a user would: the CLI on embedded Tansu and chdb."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sinks.warehouse import EmbeddedWarehouse
from tests.integration.expectations import assert_warehouse_matches


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignpulse.cli", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def test_demo_on_a_file_equals_recount_and_a_second_feed_changes_nothing(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    made = cli("produce", "simulate", "--seed", "5", "--creators", "40", "--events", "12000",
               "--start", "2026-11-26T08:00:00Z", "--duplicates", "0.02", "--late", "0.005",
               "--malformed", "0.005", "--output", str(events))
    assert made.returncode == 0, made.stderr
    with events.open("a") as f:
        f.write("}{ definitely not an event\n")
    data = tmp_path / "warehouse"

    first = cli("demo", "--events", str(events), "--no-board", "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    assert "malformed_line': 1" in first.stdout and "late" in first.stdout

    table = cli("sql", "--data-dir", str(data), "--format", "json",
                "SELECT * FROM engagement_windows FINAL ORDER BY window_seconds, window_start, "
                "campaign_id, creator_id, media_id")
    assert table.returncode == 0, table.stderr
    before = [json.loads(line) for line in table.stdout.splitlines()]
    assert len(before) > 500

    second = cli("demo", "--events", str(events), "--no-board", "--data-dir", str(data))
    assert second.returncode == 0, second.stderr
    after = cli("sql", "--data-dir", str(data), "--format", "json",
                "SELECT * FROM engagement_windows FINAL ORDER BY window_seconds, window_start, "
                "campaign_id, creator_id, media_id")
    assert [json.loads(line) for line in after.stdout.splitlines()] == before

    warehouse = EmbeddedWarehouse(str(data))
    try:
        assert_warehouse_matches(warehouse, events)
    finally:
        warehouse.close()


def test_simulated_demo_runs_for_its_duration_and_leaves_data(tmp_path: Path) -> None:
    done = cli("demo", "--duration", "6", "--no-board", "--data-dir", str(tmp_path / "d"),
               "--rate", "3000")
    assert done.returncode == 0, done.stderr
    count = cli("sql", "--data-dir", str(tmp_path / "d"), "--format", "json",
                "SELECT count() AS n, sum(interactions) AS i FROM engagement_hour "
                "WHERE media_id = ''")
    row = json.loads(count.stdout)
    assert int(row["n"]) > 0 and int(row["i"]) > 0
