"""One clock rule, live and in replay, with or without the published_at header.

(a) A like 24 h ahead and one 2 h ahead, then real likes, published by our producer: the
live run, a replay into an empty warehouse and a replay over the live output give the
same rows, and a second replay rewrites nothing. (b) A 40-minute backlog published by
kcat (no header) behind a like 23 h in the future: no real event is late.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from campaignpulse.broker import ensure_topics
from campaignpulse.replay import plan, replay
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.timestamps import format_timestamp_ms
from campaignpulse.worker.loop import Worker
from campaignpulse.worker.records import finish_line
from tests.integration.outside import (
    WorkerProcess,
    caught_up,
    dead_letter_reasons,
    kcat_publish,
    start_at_the_end,
    wait_until,
)
from tests.integration.state_files import engagement, expected, publish_lines

MINUTE = 60_000
HOUR = 3_600_000


def like(creator: str, n: int, at_ms: int) -> str:
    return json.dumps({"topic": "ig.interactions", "value": {
        "event_id": f"{creator}-{n}", "creator_id": creator, "media_id": f"{creator}-m",
        "campaign_id": None, "kind": "like", "actor_id": f"fan{n % 7}",
        "occurred_at": format_timestamp_ms(at_ms), "text": None}})


def warehouse_at(path: Path) -> EmbeddedWarehouse:
    warehouse = EmbeddedWarehouse(str(path))
    migrate(warehouse)
    return warehouse


def test_future_clocked_records_replay_as_they_ran_live(kafka_bootstrap: str,
                                                         tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id="clock-live",
                        flush_interval_s=0.3, metrics_port=0)
    ensure_topics(settings)
    now = int(time.time() * 1000)
    lines = [like("ck-a", 0, now + 24 * HOUR - 30_000), like("ck-a", 1, now + 2 * HOUR)]
    lines += [like("ck-a", i, now - 5 * MINUTE + i * 1000) for i in range(2, 7)]
    # other creators keep the partitions busy, as they are in real use
    lines += [like(f"ck-{c}", i, now - 20 * MINUTE + i * 5_000)
              for i in range(40) for c in ("b", "c", "d", "e")]
    report = publish_lines(kafka_bootstrap, lines, tmp_path / "events.jsonl")
    rng = plan(now - HOUR, now + 25 * HOUR, settings.allowed_lateness_ms)

    # chdb opens one directory per process: each warehouse in turn
    live = warehouse_at(tmp_path / "live")
    try:
        worker = Worker(settings, live, client_id="clock-live")
        worker.until = finish_line(report)
        asyncio.run(asyncio.wait_for(worker.run(asyncio.Event()), timeout=180))
        assert worker.stats.events == len(lines)  # nothing refused, nothing late
        rows = engagement(live, "ck")
        assert len(rows["engagement_minute"]) > 10
    finally:
        live.close()
    empty = warehouse_at(tmp_path / "empty")
    try:
        into_empty = asyncio.run(replay(settings, empty, rng))
        assert into_empty.kept_fuller == 0
        assert engagement(empty, "ck") == rows  # the replay decides as the live run did
        again = asyncio.run(replay(settings, empty, rng))
        assert again.rewritten == 0 and again.unchanged == into_empty.rewritten
    finally:
        empty.close()
    live = warehouse_at(tmp_path / "live")
    try:
        over_live = asyncio.run(replay(settings, live, rng))
        assert over_live.rewritten == 0 and over_live.kept_fuller == 0
        assert engagement(live, "ck") == rows
    finally:
        live.close()


def test_a_kcat_backlog_behind_a_far_future_like_has_no_late_event(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    ensure_topics(Settings(kafka_bootstrap=kafka_bootstrap))
    now = int(time.time() * 1000)
    backlog = [like("kb-1", i, now - 40 * MINUTE + i * 2_000) for i in range(1, 1200)]
    lines = [like("kb-1", 0, now + 23 * HOUR), *backlog]
    start_at_the_end(kafka_bootstrap, "clock-kcat")
    kcat_publish(kafka_bootstrap, lines)
    worker = WorkerProcess(kafka_bootstrap, "clock-kcat", tmp_path / "wh",
                           tmp_path / "worker.log")
    wait_until("the backlog committed", lambda: caught_up(kafka_bootstrap, "clock-kcat"),
               workers=(worker,))
    summary = worker.stop()
    assert "processed 1,200 events" in summary, summary
    assert "late" not in dead_letter_reasons(kafka_bootstrap)
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        got = engagement(warehouse, "kb")
    finally:
        warehouse.close()
    assert got == expected(lines)  # every minute of the backlog, and the future like
    assert len(got["engagement_minute"]) >= 2 * 40
