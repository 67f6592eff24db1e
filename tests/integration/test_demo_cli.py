"""The README's demo, run as a user would: the CLI on embedded Tansu and chdb."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from campaignpulse.producers.simulator import CampaignSimulator, Incidents
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from campaignpulse.streams.timestamps import parse_timestamp_ms
from tests.integration.expectations import CURRENT_ROWS, assert_warehouse_matches


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "campaignpulse.cli", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "CAMPAIGNPULSE_METRICS_PORT": "0"},  # no fixed port in tests
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
    assert "malformed_line 1" in first.stdout and "late" in first.stdout

    def current_rows() -> list[dict[str, object]]:
        rows = []
        for sql in CURRENT_ROWS:
            table = cli("sql", "--data-dir", str(data), "--format", "json", sql)
            assert table.returncode == 0, table.stderr
            rows += [json.loads(line) for line in table.stdout.splitlines()]
        return rows

    before = current_rows()
    assert len(before) > 500

    second = cli("demo", "--events", str(events), "--no-board", "--data-dir", str(data))
    assert second.returncode == 0, second.stderr
    assert current_rows() == before

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


def test_demo_flags_bought_followers_and_does_not_page_viral_jumps(tmp_path: Path) -> None:
    simulator = CampaignSimulator(
        seed=16, start_ms=parse_timestamp_ms("2026-11-26T08:00:00Z"), creators=60,
        incidents=Incidents(bought_per_day=2, viral_per_day=2),
    )
    events = tmp_path / "events.jsonl"
    with events.open("w") as out:
        for envelope in itertools.islice(simulator.events(), 100_000):
            out.write(envelope.to_json() + "\n")
    data = tmp_path / "warehouse"
    done = cli("demo", "--events", str(events), "--no-board", "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    rows = cli("sql", "--data-dir", str(data), "--format", "json",
               "SELECT creator_id, severity, reasons, innocent_causes, "
               "toUnixTimestamp(started_at) * 1000 AS started, "
               "toUnixTimestamp(ended_at) * 1000 AS ended FROM follower_spike_alerts FINAL")
    alerts = [json.loads(line) for line in rows.stdout.splitlines()]

    def covering(creator: str, at_ms: int) -> list[dict[str, object]]:
        # an alert that was open at the incident, or opened by it (a minute or so later)
        return [a for a in alerts if a["creator_id"] == creator
                and int(a["started"]) <= at_ms + 15 * 60_000
                and (a["ended"] is None or int(a["ended"]) >= at_ms - 60_000)]

    bought = [(c, t) for kind, c, t in simulator.incident_log if kind == "bought"]
    viral = [(c, t) for kind, c, t in simulator.incident_log if kind == "viral"]
    assert len(bought) >= 10 and len(viral) >= 10
    for creator, at in bought:
        assert covering(creator, at), f"bought followers of {creator} at {at} not flagged"
    assert sum(any(a["severity"] == "critical" for a in covering(c, t)) for c, t in bought) >= (
        len(bought) - 1)  # one package lands inside a viral spike: flagged, but as a warning
    bought_creators = {c for c, _ in bought}
    for creator, at in viral:
        if creator not in bought_creators:
            assert all(a["severity"] != "critical" for a in covering(creator, at))
    innocent = {c for _, c, _ in simulator.incident_log}
    assert all(a["creator_id"] in innocent for a in alerts), "an alert without any incident"
