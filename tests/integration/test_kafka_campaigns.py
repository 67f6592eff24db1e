"""Campaigns, a contest and disclosure through real Apache Kafka into ClickHouse (chdb).

The campaign YAML goes through ``campaignpulse campaigns load``; contests, media,
snapshots and interactions are a JSONL file written here to the README's contract. The
warehouse must equal ``tests/recount_campaigns.py``; the file fed again changes nothing.
(Named to run after test_end_to_end_kafka, which expects only its own creators.)
"""

from __future__ import annotations

import asyncio
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from campaignpulse.broker import ensure_topics
from campaignpulse.cli import main
from campaignpulse.producers.publisher import PublishReport
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.timestamps import format_timestamp_ms, parse_timestamp_ms
from campaignpulse.worker.loop import Worker
from campaignpulse.worker.records import finish_line
from tests import recount_campaigns as recount
from tests.integration.state_files import publish_file

T = parse_timestamp_ms("2026-11-20T00:00:00Z")
H = 3_600_000
MIN = 60_000
RATES = {"like": "0.08", "comment": "0.50", "save": "0.40", "share": "0.60",
         "story_view": "0.015", "reel_play": "0.01"}
CAMPAIGNS = [
    {"campaign_id": "acme-winter", "brand": "Acme", "name": "Winter drop", "currency": "EUR",
     "starts_at": format_timestamp_ms(T + H), "ends_at": format_timestamp_ms(T + 5 * H),
     "creators": [{"creator_id": "kc-a", "fee": "1000.00"}, {"creator_id": "kc-b",
                                                            "fee": "333.33"},
                  {"creator_id": "kc-idle", "fee": "50"}],
     "emv_rates": RATES, "disclosure": {"required": True}},
    {"campaign_id": "brandx-giveaway", "brand": "BrandX", "name": "Giveaway", "currency": "USD",
     "starts_at": format_timestamp_ms(T), "ends_at": format_timestamp_ms(T + 6 * H),
     "creators": [{"creator_id": "kc-c", "fee": "500"}], "emv_rates": RATES,
     "disclosure": {"required": True, "tags": ["brandx"]}},
    # fees that each round down: the campaign's cost is their sum rounded once, 1000.00
    {"campaign_id": "thirds", "brand": "Thirds", "name": "Split", "currency": "EUR",
     "starts_at": format_timestamp_ms(T), "ends_at": format_timestamp_ms(T + 7 * H),
     "creators": [{"creator_id": "kc-a", "fee": "333.333333"},
                  {"creator_id": "kc-b", "fee": "333.333333"},
                  {"creator_id": "kc-c", "fee": "333.333334"}], "emv_rates": RATES},
]
CONTEST = {
    "contest_id": "kc-c-xmas", "creator_id": "kc-c", "media_id": "kc-c-m2",
    "campaign_id": "brandx-giveaway", "starts_at": format_timestamp_ms(T + 2 * H),
    "ends_at": format_timestamp_ms(T + 4 * H), "prize_value": "150.00",
    "rules": {"min_mentions": 1, "required_hashtags": ["#Giveaway"],
              "one_entry_per_account": True, "must_like": True},
}
LONG = "A long story about the new winter collection, the fabrics, the colours, the fit " \
       "and why I wear it every day of the week, rain or shine #sponsored"
MEDIA = [  # (creator, media, campaign, caption, paid)
    ("kc-a", "kc-a-m1", "acme-winter", "Loving this #AD", False),
    ("kc-a", "kc-a-m2", "acme-winter", "Great stuff #adventure", False),
    ("kc-b", "kc-b-m1", "acme-winter", LONG, False),
    ("kc-b", "kc-b-m2", "acme-winter", "thanks!", True),
    ("kc-c", "kc-c-m1", "brandx-giveaway", "#ad new in", False),
    ("kc-c", "kc-c-m2", "brandx-giveaway", "#BrandX #giveaway: tag a friend!", False),
    ("kc-d", "kc-d-m1", "acme-winter", "not listed, not disclosed", False),
    ("kc-a", "kc-a-m3", "thirds", "#ad split three ways", False),
]
EXPECTED_ALERTS = {  # media -> (status, reason)
    "kc-a-m2": ("firing", "missing"), "kc-b-m1": ("firing", "below_fold"),
    "kc-d-m1": ("firing", "missing"), "kc-c-m1": ("resolved", "missing"),
}


def media(creator, media_id, campaign, caption, paid, at):
    return {"topic": "ig.media", "value": {
        "media_id": media_id, "creator_id": creator, "campaign_id": campaign,
        "media_product_type": "FEED", "published_at": format_timestamp_ms(at),
        "caption": caption, "paid_partnership": paid}}


def build_file(path: Path) -> list[str]:
    rng = random.Random(8)
    lines = [{"topic": "ig.contests", "value": CONTEST},
             # broken definitions: each must reach the dead-letter topic, not the worker
             {"topic": "ig.campaigns", "value": {"campaign_id": "kc-broken", "brand": "x"}},
             {"topic": "ig.contests", "value": {**CONTEST, "contest_id": "kc-broken",
                                                "prize_value": "-1"}}]
    lines += [media(*m, T + 30 * MIN) for m in MEDIA]
    events = []
    n = 0

    def interaction(creator, media_id, campaign, kind, actor, at, text=None):
        nonlocal n
        n += 1
        return (at, {"topic": "ig.interactions", "value": {
            "event_id": f"kc-ev-{n}", "creator_id": creator, "media_id": media_id,
            "campaign_id": campaign, "kind": kind, "actor_id": actor,
            "occurred_at": format_timestamp_ms(at), "text": text}})

    kinds = ["like", "comment", "save", "share", "story_view", "reel_play", "story_exit"]
    for creator, media_id, campaign, _, _ in MEDIA:
        for _ in range(400):  # T .. T+7h: before, inside and after the campaigns
            at = T + rng.randrange(7 * H)
            events.append(interaction(creator, media_id, campaign, rng.choice(kinds),
                                      f"fan{rng.randrange(150)}", at,
                                      "nice" if rng.random() < 0.3 else None))
    events += [interaction("kc-a", "kc-a-organic", None, "like",  # organic activity
                           f"fan{rng.randrange(150)}", T + rng.randrange(7 * H))
               for _ in range(60)]
    # the giveaway: entries that follow and break each rule, likes before and after
    start = T + 2 * H
    for i in range(150):
        who = f"entrant{i % 110}"
        at = start + rng.randrange(-10 * MIN, 2 * H + 10 * MIN)
        mentions = " ".join(f"@pal{rng.randrange(40)}" for _ in range(rng.choice([0, 1, 2])))
        tag = rng.choice(["#giveaway", "#GIVEAWAY", "#giveaways", ""])
        text = f"{mentions} {tag} me please"
        if i % 37 == 0:
            who = "kc-c"
        events.append(interaction("kc-c", "kc-c-m2", "brandx-giveaway", "comment", who, at,
                                  text))
        if rng.random() < 0.7:  # most entrants like, some only after commenting or the end
            events.append(interaction("kc-c", "kc-c-m2", "brandx-giveaway", "like", who,
                                      at + rng.randrange(-20 * MIN, 40 * MIN)))
    events += [interaction("kc-c", "kc-c-m2", "brandx-giveaway", "comment", f"bot{i}",
                           start + 30 * MIN + i * 1000, "@pal1 #giveaway win win")
               for i in range(6)]  # a burst of identical texts from different accounts
    events.sort(key=lambda pair: pair[0])
    ordered = [line for _, line in events]
    # duplicates and a late event per creator, in partition order
    ordered += [ordered[i] for i in range(0, len(ordered), 97)]
    late = dict(ordered[-1]["value"], event_id="kc-late", occurred_at=format_timestamp_ms(T))
    ordered.append({"topic": "ig.interactions", "value": late})
    lines += ordered
    # follower snapshots, and an edit that discloses kc-c-m1
    for creator in ("kc-a", "kc-b", "kc-c"):
        lines += [{"topic": "ig.followers", "value": {
            "creator_id": creator, "followers_count": 10_000 + k, "follows_count": 300,
            "observed_at": format_timestamp_ms(T + k * 10 * MIN)}} for k in range(44)]
    lines.append(media("kc-c", "kc-c-m1", "brandx-giveaway", "#ad new in #BrandX", False,
                       T + 30 * MIN))
    text = [json.dumps(line) for line in lines]
    path.write_text("\n".join(text) + "\n")
    return text


def consume(settings: Settings, warehouse: EmbeddedWarehouse, report: PublishReport) -> None:
    worker = Worker(settings, warehouse, client_id=settings.group_id)
    worker.until = finish_line(report)
    asyncio.run(asyncio.wait_for(worker.run(asyncio.Event()), timeout=240))


def alert_messages(bootstrap: str) -> list[dict]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer("campaignpulse.alerts", bootstrap_servers=bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             enable_auto_commit=False)
    bodies = [json.loads(m.value) for m in consumer]
    consumer.close()
    return [b for b in bodies if b.get("alert_type") == "disclosure_missing"
            and b["creator_id"].startswith("kc-")]


def cents(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@pytest.fixture(scope="module")
def run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("campaigns")
    # small batches: the event loop (and the producer's sender) gets a turn often, even on
    # a busy two-core machine
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id="kc-1", flush_interval_s=0.3,
                        metrics_port=0, topic_retention_ms=86_400_000 * 30,
                        max_batch_records=2_000)
    ensure_topics(settings)
    (tmp / "campaigns.yaml").write_text(yaml.safe_dump({"campaigns": CAMPAIGNS}))
    import os

    os.environ["CAMPAIGNPULSE_KAFKA_BOOTSTRAP"] = kafka_bootstrap
    try:
        assert main(["campaigns", "load", str(tmp / "campaigns.yaml")]) == 0
    finally:
        del os.environ["CAMPAIGNPULSE_KAFKA_BOOTSTRAP"]
    path = tmp / "events.jsonl"
    lines = build_file(path)
    warehouse = EmbeddedWarehouse(str(tmp / "wh"))
    try:  # chdb allows one data directory per process: always close it
        migrate(warehouse)
        consume(settings, warehouse, publish_file(kafka_bootstrap, path))
        yield settings, warehouse, lines, path
    finally:
        warehouse.close()


def test_campaign_kpis_equal_the_recount_to_the_cent(run) -> None:
    _, warehouse, lines, _ = run
    events = recount.accepted_interactions(lines)
    expected = recount.campaign_kpis(CAMPAIGNS, events)
    rows = warehouse.query("SELECT * FROM campaign_kpis WHERE campaign_id IN "
                           "('acme-winter', 'brandx-giveaway', 'thirds')")
    got = {(r["campaign_id"], r["creator_id"]): r for r in rows}
    assert set(got) == set(expected)
    assert len(got) == len(rows)
    for key, want in expected.items():
        row = got[key]
        for column in ("interactions", "reach"):
            assert row[column] == want[column], (key, column)
        for column in ("emv", "cost", "cpe", "cpm", "roi"):
            assert cents(row[column]) == want[column], (key, column, row[column])
    assert got[("acme-winter", "")]["cost"] == 1383.33  # every listed fee, idle or not
    assert cents(got[("thirds", "")]["cost"]) == Decimal("1000.00")  # not 999.99
    # the hourly rows add up to the to-date counts for each creator
    hours = warehouse.query(
        "SELECT campaign_id, creator_id, sum(interactions) AS n FROM campaign_kpis_hour "
        "WHERE creator_id != '' AND campaign_id IN ('acme-winter', 'brandx-giveaway', "
        "'thirds') "
        "GROUP BY campaign_id, creator_id")
    assert {(h["campaign_id"], h["creator_id"]): h["n"] for h in hours} == {
        k: v["interactions"] for k, v in expected.items() if k[1]}
    # kc-a is in two campaigns: the row of the one that ended at T+5h (the query had no
    # campaign filter and read whichever row came first: 10,041 is thirds' row at T+7h)
    followers = warehouse.query("SELECT followers, engagement_rate, interactions FROM "
                                "campaign_kpis WHERE creator_id = 'kc-a' "
                                "AND campaign_id = 'acme-winter'")[0]
    # the latest snapshot before the campaign ended (T+5h): k = 29
    assert followers["followers"] == 10_029


def test_contest_performance_equals_the_recount(run) -> None:
    _, warehouse, lines, _ = run
    events = recount.accepted_interactions(lines)
    want = recount.contest_performance(CONTEST, events)
    [row] = warehouse.query("SELECT * FROM contest_performance FINAL "
                            "WHERE contest_id = 'kc-c-xmas'")
    assert row["final"] == 1
    for reason in ("before_start", "after_end", "own_account", "too_few_mentions",
                   "missing_hashtag", "no_like", "repeat_entrant"):
        assert want.get(reason, 0) > 0, f"the file must exercise {reason}"
        assert row[reason] == want[reason], reason
    assert row["valid_entries"] == want["valid"]
    assert row["provisional_entries"] == 0
    assert row["entries"] == want["entries"]
    assert row["unique_entrants"] == want["unique_entrants"]
    assert cents(row["cost_per_valid_entry_cents"]) == (
        Decimal("150.00") / want["valid"]).quantize(Decimal("0.01")) * 100
    assert row["burst_entries"] >= 6 and row["identical_text_entries"] >= 6
    # snapshots: 10,000 + k at T + 10k min; the contest runs T+2h .. T+4h (k = 12 .. 24)
    [growth] = warehouse.query("SELECT * FROM contest_kpis WHERE contest_id = 'kc-c-xmas'")
    assert (growth["followers_at_start"], growth["followers_at_end"], growth["follower_gain"],
            growth["baseline_gain"]) == (10_012, 10_024, 12, 12)
    assert abs(growth["entry_rate"] - want["unique_entrants"] / 10_012) < 1e-12
    minutes = warehouse.query("SELECT sum(entries) AS n, sum(valid_entries) AS v FROM "
                              "contest_entries_minute FINAL WHERE contest_id = 'kc-c-xmas'")[0]
    assert (minutes["n"], minutes["v"]) == (want["entries"], want["valid"])


def test_undisclosed_media_raise_one_alert_each(run) -> None:
    settings, warehouse, _, _ = run
    rows = warehouse.query("SELECT media_id, status, reason FROM disclosure_alerts FINAL "
                           "WHERE creator_id LIKE 'kc-%'")
    assert {r["media_id"]: (r["status"], r["reason"]) for r in rows} == EXPECTED_ALERTS
    assert len(rows) == len(EXPECTED_ALERTS)
    messages = alert_messages(settings.kafka_bootstrap)
    assert {m["alert_id"] for m in messages} == {f"disclosure-{m}" for m in EXPECTED_ALERTS}


def test_broken_definitions_are_dead_lettered(run) -> None:
    from kafka import KafkaConsumer

    settings, _, _, _ = run
    consumer = KafkaConsumer("campaignpulse.dlq", bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             enable_auto_commit=False)
    headers = [(dict(m.headers), m.key) for m in consumer]
    letters = [(h["campaignpulse.source"].decode().split("/")[0],
                h["campaignpulse.reason"].decode(), key)
               for h, key in headers if "campaignpulse.source" in h]  # file lines have none
    consumer.close()
    assert ("ig.campaigns", "schema", b"kc-broken") in letters
    assert letters.count(("ig.contests", "schema", b"kc-c")) == 1  # not also by the feed


def test_campaigns_list_shows_what_was_loaded(run, capsys) -> None:
    settings, _, _, _ = run
    import os

    os.environ["CAMPAIGNPULSE_KAFKA_BOOTSTRAP"] = settings.kafka_bootstrap
    try:
        capsys.readouterr()
        assert main(["campaigns", "list", "--format", "json"]) == 0
    finally:
        del os.environ["CAMPAIGNPULSE_KAFKA_BOOTSTRAP"]
    listed = {json.loads(line)["campaign_id"] for line in capsys.readouterr().out.splitlines()}
    assert {"acme-winter", "brandx-giveaway"} <= listed


def test_the_file_fed_again_changes_nothing(run) -> None:
    settings, warehouse, _, path = run
    queries = [
        "SELECT * FROM campaign_kpi_hours FINAL WHERE creator_id LIKE 'kc-%' "
        "ORDER BY campaign_id, creator_id, window_start",
        "SELECT * FROM campaign_kpi_to_date FINAL WHERE creator_id LIKE 'kc-%' "
        "ORDER BY campaign_id, creator_id",
        "SELECT * FROM contest_performance FINAL WHERE creator_id LIKE 'kc-%'",
        "SELECT * FROM contest_entries_minute FINAL WHERE contest_id = 'kc-c-xmas' "
        "ORDER BY minute_start",
        "SELECT * FROM disclosure_alerts FINAL WHERE creator_id LIKE 'kc-%' ORDER BY alert_id",
    ]
    before = [warehouse.query(q) for q in queries]
    report = publish_file(settings.kafka_bootstrap, path)
    consume(settings.model_copy(update={"group_id": "kc-replay"}), warehouse, report)
    assert [warehouse.query(q) for q in queries] == before
    messages = alert_messages(settings.kafka_bootstrap)
    assert {m["alert_id"] for m in messages} == {f"disclosure-{m}" for m in EXPECTED_ALERTS}


def test_disclosure_alerts_reach_alertmanager_with_campaign_team_labels(run, tmp_path) -> None:
    import time

    from campaignpulse.notify import run_notifier
    from tests.integration.services import Receiver, alertmanager

    hook = Receiver()
    received = hook.received
    settings, _, _, _ = run
    try:
        with alertmanager(tmp_path, hook.url) as am_url:
            settings = settings.model_copy(update={
                "alertmanager_url": am_url, "alert_resend_s": 1.0,
                "alert_group_id": "kc-notifier"})

            async def deliver() -> list[dict]:
                stop = asyncio.Event()
                notifier = asyncio.create_task(run_notifier(settings, stop))
                deadline = time.monotonic() + 60
                found: list[dict] = []
                while time.monotonic() < deadline and not found:
                    await asyncio.sleep(0.5)
                    found = [a for note in received for a in note["alerts"]
                             if a["labels"].get("media_id") == "kc-a-m2"]
                stop.set()
                await asyncio.wait_for(notifier, timeout=30)
                return found

            found = asyncio.run(deliver())
    finally:
        hook.close()
    assert found, f"no notification for kc-a-m2; got {received}"
    labels = found[0]["labels"]
    assert {k: labels[k] for k in ("alertname", "team", "service", "severity", "campaign_id",
                                   "creator_id", "media_id")} == {
        "alertname": "CampaignpulseDisclosureMissing", "team": "campaign",
        "service": "campaignpulse", "severity": "warning", "campaign_id": "acme-winter",
        "creator_id": "kc-a", "media_id": "kc-a-m2"}
    media_notified = {a["labels"].get("media_id") for note in received for a in note["alerts"]}
    assert "kc-a-m1" not in media_notified and "kc-b-m2" not in media_notified


def test_campaign_board_panels_and_summary_read_the_warehouse(run) -> None:
    from campaignpulse.campaign_board import (
        campaign_kpis_table,
        campaign_summary,
        contest_table,
        disclosure_table,
    )

    _, warehouse, lines, _ = run
    kpis = campaign_kpis_table(warehouse, limit=20)
    assert kpis.row_count >= 2 and "(" not in str(kpis.title)  # no error in the title
    assert contest_table(warehouse, limit=20).row_count >= 1
    assert disclosure_table(warehouse, limit=50).row_count >= 3
    summary = "\n".join(campaign_summary(warehouse))
    want = recount.contest_performance(CONTEST, recount.accepted_interactions(lines))
    assert f"contest kc-c-xmas: {want['valid']:,} valid of {want['entries']:,} entries" in summary
    assert "campaign acme-winter: EMV" in summary
