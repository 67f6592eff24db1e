"""``campaignpulse replay`` against real Apache Kafka: a range rebuilt whole into an empty
warehouse equals the recount of that range; replaying a covered range changes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from campaignpulse.broker import ensure_topics
from campaignpulse.producers.publisher import timestamp_limits
from campaignpulse.replay import plan, replay
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.contract import INPUT_TOPICS
from campaignpulse.streams.timestamps import format_timestamp_ms
from campaignpulse.worker.loop import Worker
from campaignpulse.worker.records import finish_line
from tests.integration.services import ROOT
from tests.integration.state_files import (
    HOUR_MS,
    assert_matches,
    engagement,
    event_ms,
    expected,
    make_lines,
    publish_lines,
    start_group_at_the_end,
)


def warehouse_at(path: Path) -> EmbeddedWarehouse:
    warehouse = EmbeddedWarehouse(str(path))
    migrate(warehouse)
    return warehouse


def assert_rollups_follow(warehouse: EmbeddedWarehouse) -> None:
    """The hourly rollups the sink recomputes hold the current rollup rows' interactions,
    per creator hour and per campaign hour, however the rows were re-sent or replayed."""
    rollups = warehouse.query(
        "SELECT toString(window_start) AS hour, campaign_id, creator_id, "
        "toUInt64(likes + comments + saves + shares) AS interactions FROM creator_windows "
        "FINAL WHERE window_seconds = 3600 ORDER BY hour, campaign_id, creator_id")
    assert rollups
    assert warehouse.query(
        "SELECT toString(hour) AS hour, campaign_id, creator_id, interactions "
        "FROM creator_hours FINAL ORDER BY hour, campaign_id, creator_id") == rollups
    per_campaign: dict[tuple[str, str], int] = {}
    for r in rollups:
        key = (r["hour"], r["campaign_id"])
        per_campaign[key] = per_campaign.get(key, 0) + r["interactions"]
    assert {(r["hour"], r["campaign_id"]): r["interactions"] for r in warehouse.query(
        "SELECT toString(hour) AS hour, campaign_id, interactions FROM campaign_hours FINAL"
    )} == per_campaign


def test_replay_rebuilds_a_range_whole_and_twice_changes_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # 22 h ago: inside any retention the topics have, apart from the other tests' times
    start = int(time.time() * 1000) // HOUR_MS * HOUR_MS - 22 * HOUR_MS
    lines = make_lines("rp", 12_000, creators=10, seed=13, start_ms=start)
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id="replay-live",
                        flush_interval_s=0.3, metrics_port=0)
    ensure_topics(settings)
    asyncio.run(start_group_at_the_end(kafka_bootstrap, settings.group_id))
    report = publish_lines(kafka_bootstrap, lines, tmp_path / "events.jsonl")
    # every record carries its event time, but those older than the topics keep
    max_age, _ = timestamp_limits(kafka_bootstrap, INPUT_TOPICS)
    too_old = sum(1 for line in lines if 0 <= event_ms(line) < time.time() * 1000 - max_age)
    assert abs(report.unstamped - too_old) <= 2
    first = event_ms(next(line for line in lines if '"ig.interactions"' in line))
    from_ms = first - first % HOUR_MS + 40 * 60_000  # boundary windows on both sides
    to_ms = from_ms + 55 * 60_000
    rng = plan(from_ms, to_ms, settings.allowed_lateness_ms)
    want = expected(lines, from_ms, to_ms)
    assert want["engagement_hour"] and want["engagement_minute"]

    empty = warehouse_at(tmp_path / "empty")
    try:
        once = asyncio.run(replay(settings, empty, rng))
        # whole windows only: every row of the range equals the recount, partial none
        rows = assert_matches(empty, "rp", want)
        assert once.rewritten >= rows > 0 and once.kept_fuller == 0
        twice = asyncio.run(replay(settings, empty, rng))
        assert twice.rewritten == 0 and twice.kept_fuller == 0
        assert twice.unchanged == once.rewritten
        assert_matches(empty, "rp", want)
        assert_rollups_follow(empty)
    finally:
        empty.close()

    dry = warehouse_at(tmp_path / "dry")
    try:
        trial = asyncio.run(replay(settings, dry, rng, dry_run=True))
        assert trial.rewritten == once.rewritten
        assert engagement(dry, "rp") == {"engagement_minute": {}, "engagement_hour": {}}
    finally:
        dry.close()

    # the live worker covered everything; replaying the range over it changes nothing
    live = warehouse_at(tmp_path / "live")
    try:
        worker = Worker(settings, live, client_id="replay-live")
        worker.until = finish_line(report)
        asyncio.run(asyncio.wait_for(worker.run(asyncio.Event()), timeout=240))
        over = asyncio.run(replay(settings, live, rng))
        assert over.rewritten == 0 and over.kept_fuller == 0 and over.unchanged > 0
        assert_rollups_follow(live)  # flush by flush, as the live worker wrote them
    finally:
        live.close()

    # the command itself, as an engineer runs it: JSON summary, nothing to rewrite
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap}
    env.pop("CAMPAIGNPULSE_CLICKHOUSE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "campaignpulse.cli", "replay", "--from",
         format_timestamp_ms(from_ms), "--to", format_timestamp_ms(to_ms), "--dry-run",
         "--data-dir", str(tmp_path / "empty")],
        env=env, capture_output=True, text=True, timeout=180, check=True,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["rows_rewritten"] == 0 and summary["dry_run"] is True
    assert summary["rows_unchanged"] == once.rewritten
