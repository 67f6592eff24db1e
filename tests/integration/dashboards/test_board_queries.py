"""Every ClickHouse query of the boards runs on seeded demo data (chdb) and returns rows;
the reach and top-creators panels equal an independent recount of the raw events."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from campaignpulse.board import ACTIVE_ALERTS_SQL, TOP_CREATORS_SQL
from campaignpulse.dashboards import campaign
from campaignpulse.dashboards.panels import SqlPanel
from campaignpulse.sinks.schema import ALERT_COLUMNS
from tests.integration.dashboards.conftest import HOUR_S, Seeded
from tests.integration.dashboards.grafana_macros import expand
from tests.recount import to_ms

INTERACTION_KINDS = {"like", "comment", "save", "share"}
VIEW_KINDS = {"story_view", "reel_play"}


def variables(seeded: Seeded, from_s: int, to_s: int) -> dict[str, list[str]]:
    """What Grafana substitutes for "All": every value the variable queries return."""
    run = seeded.warehouse.query
    campaigns = [r["campaign"] for r in run(expand(campaign.CAMPAIGN_VALUES_SQL, from_s, to_s))]
    creators = [r["creator_id"] for r in run(
        expand(campaign.CREATOR_VALUES_SQL, from_s, to_s, variables={"campaign": campaigns}))]
    return {"campaign": campaigns, "creator": creators}


def run_panel(seeded: Seeded, spec: SqlPanel, from_s: int, to_s: int,
              interval_s: int = HOUR_S, **chosen: list[str]) -> list[dict[str, Any]]:
    values = {**variables(seeded, from_s, to_s), **chosen}
    return seeded.warehouse.query(expand(spec.sql, from_s, to_s, interval_s, values))


def panel(title_start: str) -> SqlPanel:
    return next(p for p in campaign.all_panels() if p.title.startswith(title_start))


def test_variables_list_the_seeded_campaigns_and_creators(seeded: Seeded) -> None:
    found = variables(seeded, seeded.from_s, seeded.to_s)
    assert "organic" in found["campaign"] and "cmp-000" in found["campaign"]
    assert len(found["creator"]) == 40


@pytest.mark.parametrize("interval_s", [HOUR_S, 6 * HOUR_S])
def test_every_panel_returns_rows_with_its_columns(seeded: Seeded, interval_s: int) -> None:
    for spec in campaign.all_panels():
        rows = run_panel(seeded, spec, seeded.from_s, seeded.to_s, interval_s)
        assert rows, spec.title
        assert set(spec.columns) <= set(rows[0]), (spec.title, list(rows[0]))
        if "time" in spec.columns:  # downsampled to the interval Grafana asks for
            assert all(int(_epoch(r["time"])) % interval_s == 0 for r in rows), spec.title


def test_spike_annotations_return_grafana_annotation_columns(seeded: Seeded) -> None:
    assert seeded.alerts > 0
    sql = expand(campaign.SPIKE_ANNOTATIONS_SQL, seeded.from_s, seeded.to_s,
                 variables=variables(seeded, seeded.from_s, seeded.to_s))
    rows = seeded.warehouse.query(sql)
    assert rows and {"time", "timeEnd", "text", "tags"} <= set(rows[0])
    assert "follower spike" in rows[0]["text"]


def test_a_spike_firing_since_before_the_range_still_shows(seeded: Seeded) -> None:
    start = seeded.to_s - HOUR_S  # the range is the last hour
    old_firing = _alert("cr-00001-old", "cr-00001", "firing", start - 2 * HOUR_S, 0)
    old_resolved = _alert("cr-00002-old", "cr-00002", "resolved", start - 3 * HOUR_S,
                          start - 2 * HOUR_S)
    seeded.warehouse.insert("follower_spike_alerts", ALERT_COLUMNS, [old_firing, old_resolved])
    try:
        every = {"creator": [f"cr-{i:05d}" for i in range(40)]}
        ids = {r["text"].split(", ")[1].split(":")[0]: r for r in seeded.warehouse.query(
            expand(campaign.SPIKE_ANNOTATIONS_SQL, start, seeded.to_s, variables=every))}
        assert "cr-00001" in ids
        table = panel("Follower spikes")
        rows = seeded.warehouse.query(expand(table.sql, start, seeded.to_s, variables=every))
        shown = {(r["creator_id"], r["status"]) for r in rows}
        assert ("cr-00001", "firing") in shown
        assert not any(r["started_at"] == _iso(start - 3 * HOUR_S) for r in rows)
    finally:
        seeded.warehouse.execute(
            "ALTER TABLE follower_spike_alerts DELETE WHERE alert_id LIKE '%-old'")


@pytest.mark.parametrize("interval_s", [HOUR_S, 2 * HOUR_S])
def test_reach_panel_equals_a_recount_of_stories_and_reels(seeded: Seeded,
                                                           interval_s: int) -> None:
    product = {}
    for e in seeded.envelopes:
        if e.topic == "ig.media" and isinstance(e.value, dict):
            product[e.value["media_id"]] = e.value["media_product_type"]
    interactions: dict[int, int] = defaultdict(int)
    viewers: dict[tuple[int, str, int], set[str]] = defaultdict(set)
    for e in seeded.envelopes:
        v = e.value
        if e.topic != "ig.interactions" or not isinstance(v, dict):
            continue
        if product.get(v["media_id"]) not in ("STORY", "REELS"):
            continue
        hour = to_ms(v["occurred_at"]) // 1000 // HOUR_S * HOUR_S
        if v["kind"] in INTERACTION_KINDS:
            interactions[hour // interval_s * interval_s] += 1
        elif v["kind"] in VIEW_KINDS:
            viewers[(hour // interval_s * interval_s, v["media_id"], hour)].add(v["actor_id"])
    reach: dict[int, int] = defaultdict(int)
    for (bucket, _, _), actors in viewers.items():
        reach[bucket] += len(actors)
    expected = {b: interactions[b] / reach[b] for b in reach if reach[b]}

    rows = run_panel(seeded, panel("Engagement rate by reach"), seeded.from_s, seeded.to_s,
                     interval_s)
    got = {int(_epoch(r["time"])): r["engagement_rate_by_reach"] for r in rows}
    assert got.keys() == expected.keys()
    for bucket, value in expected.items():
        assert got[bucket] == pytest.approx(value, rel=1e-9), bucket
    # the old panel divided every interaction (feed posts too) by the same reach
    assert all(v < 1 for v in got.values())


def test_top_creators_equal_a_recount_with_the_latest_follower_count(seeded: Seeded) -> None:
    from_s, to_s = seeded.from_s + HOUR_S, seeded.to_s - HOUR_S
    interactions: dict[str, int] = defaultdict(int)
    latest: dict[str, tuple[int, int]] = {}
    for e in seeded.envelopes:
        v = e.value
        assert isinstance(v, dict)
        if e.topic == "ig.interactions" and v["kind"] in INTERACTION_KINDS:
            hour = to_ms(v["occurred_at"]) // 1000 // HOUR_S * HOUR_S
            if from_s <= hour <= to_s:
                interactions[v["creator_id"]] += 1
        elif e.topic == "ig.followers":
            at = to_ms(v["observed_at"])
            if at // 1000 <= to_s and at >= latest.get(v["creator_id"], (-1, 0))[0]:
                latest[v["creator_id"]] = (at, v["followers_count"])
    rates = {c: n / latest[c][1] for c, n in interactions.items() if latest[c][1] > 0}
    top = sorted(rates, key=rates.__getitem__, reverse=True)[:20]

    rows = run_panel(seeded, panel("Top creators"), from_s, to_s)
    assert [r["creator_id"] for r in rows] == top
    for r in rows:
        c = r["creator_id"]
        assert r["interactions"] == interactions[c]
        assert r["latest_followers"] == latest[c][1]
        assert r["engagement_rate"] == pytest.approx(rates[c], rel=1e-9)


def test_one_campaign_and_one_creator_narrow_the_panels(seeded: Seeded) -> None:
    spec = panel("Engagement rate per hour by creator")
    rows = run_panel(seeded, spec, seeded.from_s, seeded.to_s, creator=["cr-00003"])
    assert rows and {r["creator_id"] for r in rows} == {"cr-00003"}
    spec = panel("Engagement rate per hour by campaign")
    rows = run_panel(seeded, spec, seeded.from_s, seeded.to_s, campaign=["cmp-001"])
    assert rows and {r["campaign"] for r in rows} == {"cmp-001"}


def test_the_terminal_board_queries_run(seeded: Seeded) -> None:
    assert seeded.warehouse.query(TOP_CREATORS_SQL)
    seeded.warehouse.query(ACTIVE_ALERTS_SQL)


def _epoch(value: Any) -> float:
    from datetime import UTC, datetime

    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp()


def _iso(epoch_s: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _alert(alert_id: str, creator: str, status: str, started_s: int,
           ended_s: int) -> tuple[Any, ...]:
    from datetime import UTC, datetime

    def at(s: int) -> datetime:
        return datetime.fromtimestamp(s, tz=UTC)

    return (alert_id, creator, [], status, "critical", 0.9, at(started_s), at(started_s),
            at(ended_s), 5000, 10.0, 20000, ["round_number_jump"], [], 1)
