"""With campaigns and contests open, commits follow the head, and a restart changes nothing.

From outside: the campaign file of ``test_kafka_campaigns`` (plus a contest still open at
the end) published by kcat to Apache Kafka, ``campaignpulse worker`` as a process,
offsets and topics read with plain clients, the warehouse against the independent
recount. Then the worker is restarted and the same file is fed again: nothing is read
twice, no alert message is added and no row changes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

from campaignpulse.broker import ensure_topics
from campaignpulse.cli import main
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from campaignpulse.streams.timestamps import format_timestamp_ms
from tests import recount_campaigns as recount
from tests.integration.outside import (
    WorkerProcess,
    alert_messages,
    caught_up,
    committed_share,
    kcat_publish,
    start_at_the_end,
    wait_until,
)
from tests.integration.test_kafka_campaigns import (
    CAMPAIGNS,
    CONTEST,
    EXPECTED_ALERTS,
    H,
    T,
    build_file,
    cents,
)

GROUP = "outside-campaigns"
#: a second contest, still open when the file ends (T+7h): it must not hold commits
OPEN_CONTEST = {**CONTEST, "contest_id": "kc-c-open", "media_id": "kc-c-m1",
                "starts_at": format_timestamp_ms(T + 6 * H),
                "ends_at": format_timestamp_ms(T + 9 * H)}
STATE_QUERIES = [
    "SELECT * FROM campaign_kpi_hours FINAL WHERE creator_id LIKE 'kc-%' "
    "ORDER BY campaign_id, creator_id, window_start",
    "SELECT * FROM campaign_kpi_to_date FINAL WHERE creator_id LIKE 'kc-%' "
    "ORDER BY campaign_id, creator_id",
    "SELECT * FROM contest_performance FINAL WHERE creator_id LIKE 'kc-%' ORDER BY contest_id",
    "SELECT * FROM disclosure_alerts FINAL WHERE creator_id LIKE 'kc-%' ORDER BY alert_id",
    "SELECT * FROM media_windows FINAL WHERE creator_id LIKE 'kc-%' "
    "ORDER BY window_seconds, window_start, campaign_id, creator_id, media_id",
    "SELECT * FROM creator_windows FINAL WHERE creator_id LIKE 'kc-%' "
    "ORDER BY window_seconds, window_start, campaign_id, creator_id",
]


def records_read(summary: str) -> int:
    found = re.search(r"from ([\d,]+) records", summary)
    assert found, summary
    return int(found.group(1).replace(",", ""))


def disclosure_messages(bootstrap: str) -> list[tuple[str, int]]:
    return sorted((m["alert_id"], m["version"]) for m in alert_messages(bootstrap)
                  if m.get("alert_type") == "disclosure_missing"
                  and m["creator_id"].startswith("kc-"))


def test_open_campaigns_commit_at_the_head_and_a_restart_with_the_same_file_changes_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_retention_ms=86_400_000 * 30)
    ensure_topics(settings)
    (tmp_path / "campaigns.yaml").write_text(yaml.safe_dump({"campaigns": CAMPAIGNS}))
    os.environ["CAMPAIGNPULSE_KAFKA_BOOTSTRAP"] = kafka_bootstrap
    try:
        assert main(["campaigns", "load", str(tmp_path / "campaigns.yaml")]) == 0
    finally:
        del os.environ["CAMPAIGNPULSE_KAFKA_BOOTSTRAP"]
    lines = build_file(tmp_path / "events.jsonl")
    lines.insert(0, json.dumps({"topic": "ig.contests", "value": OPEN_CONTEST}))
    start_at_the_end(kafka_bootstrap, GROUP)
    published = kcat_publish(kafka_bootstrap, lines)

    first = WorkerProcess(kafka_bootstrap, GROUP, tmp_path / "wh", tmp_path / "first.log")
    wait_until("commits at the log end", lambda: caught_up(kafka_bootstrap, GROUP),
               workers=(first,))
    # the thirds campaign (until T+7h) and kc-c-open (until T+9h) are still open here
    share = committed_share(kafka_bootstrap, GROUP)
    assert min(share.values()) >= 0.95, share
    summary = first.stop()
    assert records_read(summary) == published
    assert committed_share(kafka_bootstrap, GROUP) == dict.fromkeys(share, 1.0)

    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        events = recount.accepted_interactions(lines)
        expected = recount.campaign_kpis(CAMPAIGNS, events)
        rows = warehouse.query("SELECT * FROM campaign_kpis WHERE campaign_id IN "
                               "('acme-winter', 'brandx-giveaway', 'thirds')")
        got = {(r["campaign_id"], r["creator_id"]): r for r in rows}
        assert set(got) == set(expected) and len(got) == len(rows)
        for key, want in expected.items():
            for column in ("emv", "cost", "cpe", "cpm", "roi"):
                assert cents(got[key][column]) == want[column], (key, column)
            assert got[key]["interactions"] == want["interactions"], key
        want = recount.contest_performance(CONTEST, events)
        [row] = warehouse.query("SELECT * FROM contest_performance FINAL "
                                "WHERE contest_id = 'kc-c-xmas'")
        for reason in ("before_start", "after_end", "own_account", "too_few_mentions",
                       "missing_hashtag", "no_like", "repeat_entrant"):
            assert row[reason] == want[reason], reason
        assert (row["valid_entries"], row["final"]) == (want["valid"], 1)
        alerts = warehouse.query("SELECT media_id, status, reason FROM disclosure_alerts FINAL "
                                 "WHERE creator_id LIKE 'kc-%'")
        assert {a["media_id"]: (a["status"], a["reason"]) for a in alerts} == EXPECTED_ALERTS
        before = [warehouse.query(q) for q in STATE_QUERIES]
    finally:
        warehouse.close()
    messages = disclosure_messages(kafka_bootstrap)
    assert {m for m, _ in messages} == {f"disclosure-{m}" for m in EXPECTED_ALERTS}

    # restart: the state comes back from the changelog; then the same file again
    second = WorkerProcess(kafka_bootstrap, GROUP, tmp_path / "wh", tmp_path / "second.log")
    again = kcat_publish(kafka_bootstrap, lines)
    wait_until("the file again committed", lambda: caught_up(kafka_bootstrap, GROUP),
               workers=(second,))
    summary = second.stop()
    assert records_read(summary) == again  # nothing of the first feed read again
    assert "restored 4 partitions" in summary, summary
    assert disclosure_messages(kafka_bootstrap) == messages  # no alert message added
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        assert [warehouse.query(q) for q in STATE_QUERIES] == before
    finally:
        warehouse.close()
