"""Every ClickHouse query of the boards runs on seeded demo data (chdb), with the plugin's
macros and "All" expanded as Grafana does, returns rows with its columns, and the
variables, annotations and filters behave."""

from __future__ import annotations

from typing import Any

import pytest

from campaignpulse.board import ACTIVE_ALERTS_SQL, TOP_CREATORS_SQL
from campaignpulse.dashboards import campaign
from campaignpulse.dashboards.macros import expand
from campaignpulse.sinks.schema import ALERT_COLUMNS
from tests.integration.dashboards.conftest import EVERYTHING, HOUR_S, Seeded, panel, run_panel


def values(seeded: Seeded, sql: str, from_s: int, to_s: int, **chosen: list[str]) -> list[str]:
    rows = seeded.warehouse.query(expand(sql, from_s, to_s, variables={**EVERYTHING, **chosen}))
    return [next(iter(r.values())) for r in rows]


def test_all_is_the_custom_all_value() -> None:
    assert EVERYTHING == {"campaign": "''", "creator": "''"}


def test_variables_list_the_seeded_campaigns_and_creators(seeded: Seeded) -> None:
    campaigns = values(seeded, campaign.CAMPAIGN_VALUES_SQL, seeded.from_s, seeded.to_s)
    assert "organic" in campaigns and "cmp-000" in campaigns
    creators = values(seeded, campaign.CREATOR_VALUES_SQL, seeded.from_s, seeded.to_s)
    assert len(creators) == 40
    members = values(seeded, campaign.CREATOR_VALUES_SQL, seeded.from_s, seeded.to_s,
                     campaign=["cmp-001"])
    assert members and set(members) < set(creators)
    expected = {v["creator_id"] for v in seeded.values("ig.interactions")
                if v.get("campaign_id") == "cmp-001"}
    assert set(members) == expected


@pytest.mark.parametrize("interval_s", [HOUR_S, 6 * HOUR_S])
def test_every_panel_returns_rows_with_its_columns(seeded: Seeded, interval_s: int) -> None:
    for spec in campaign.all_panels():
        rows = run_panel(seeded, spec, seeded.from_s, seeded.to_s, interval_s)
        assert rows, spec.title
        assert set(spec.columns) <= set(rows[0]), (spec.title, list(rows[0]))
        if "time" in spec.columns:  # downsampled to the interval Grafana asks for
            assert all(int(_epoch(r["time"])) % interval_s == 0 for r in rows), spec.title


def test_all_equals_every_value_listed(seeded: Seeded) -> None:
    """The custom all value selects what listing every option would."""
    creators = values(seeded, campaign.CREATOR_VALUES_SQL, seeded.from_s, seeded.to_s)
    campaigns = values(seeded, campaign.CAMPAIGN_VALUES_SQL, seeded.from_s, seeded.to_s)
    for spec in campaign.all_panels():
        if spec.title == "Campaign KPIs to date":  # All: every listed creator's fee counts
            continue
        everything = run_panel(seeded, spec, seeded.from_s, seeded.to_s)
        listed = run_panel(seeded, spec, seeded.from_s, seeded.to_s, campaign=campaigns,
                           creator=creators)
        assert _sorted(everything) == _sorted(listed), spec.title


def test_one_campaign_and_one_creator_narrow_the_panels(seeded: Seeded) -> None:
    spec = panel("Engagement rate per hour by creator")
    rows = run_panel(seeded, spec, seeded.from_s, seeded.to_s, creator=["cr-00003"])
    assert rows and {r["creator"] for r in rows} == {"cr-00003"}
    spec = panel("Engagement rate per hour by campaign")
    rows = run_panel(seeded, spec, seeded.from_s, seeded.to_s, campaign=["cmp-001"])
    assert rows and {r["campaign"] for r in rows} == {"cmp-001"}
    rows = run_panel(seeded, spec, seeded.from_s, seeded.to_s, campaign=["organic"])
    assert rows and {r["campaign"] for r in rows} == {"organic"}
    members = set(values(seeded, campaign.CREATOR_VALUES_SQL, seeded.from_s, seeded.to_s,
                         campaign=["cmp-001"]))
    rows = run_panel(seeded, panel("Followers per creator"), seeded.from_s, seeded.to_s,
                     campaign=["cmp-001"])
    assert rows and {r["creator"] for r in rows} <= members


def test_a_one_hour_view_shows_the_hour_before_it(seeded: Seeded) -> None:
    """At 10:30 the last hour is 09:30-10:30: the 09:00 hour is drawn too, not only the
    open 10:00 one (every line used to end in a dip)."""
    to_s = seeded.to_s - HOUR_S // 2
    rows = run_panel(seeded, panel("Engagement rate per hour by campaign"), to_s - HOUR_S, to_s)
    hours = {int(_epoch(r["time"])) for r in rows}
    assert hours == {seeded.to_s - 2 * HOUR_S, seeded.to_s - HOUR_S}


def test_spike_annotations_return_grafana_annotation_columns(seeded: Seeded) -> None:
    assert seeded.alerts > 0
    rows = seeded.warehouse.query(expand(campaign.SPIKE_ANNOTATIONS_SQL, seeded.from_s,
                                         seeded.to_s, variables=EVERYTHING))
    assert rows and {"time", "timeEnd", "text", "tags"} <= set(rows[0])
    assert "follower spike" in rows[0]["text"]


def test_a_spike_firing_since_before_the_range_still_shows(seeded: Seeded) -> None:
    start = seeded.to_s - HOUR_S  # the range is the last hour
    old_firing = _alert("cr-00001-old", "cr-00001", "firing", start - 2 * HOUR_S, 0)
    old_resolved = _alert("cr-00002-old", "cr-00002", "resolved", start - 3 * HOUR_S,
                          start - 2 * HOUR_S)
    seeded.warehouse.insert("follower_spike_alerts", ALERT_COLUMNS, [old_firing, old_resolved])
    try:
        ids = {r["text"].split(", ")[1].split(":")[0]: r for r in seeded.warehouse.query(
            expand(campaign.SPIKE_ANNOTATIONS_SQL, start, seeded.to_s, variables=EVERYTHING))}
        assert "cr-00001" in ids
        rows = run_panel(seeded, panel("Follower spikes"), start, seeded.to_s)
        shown = {(r["creator_id"], r["status"]) for r in rows}
        assert ("cr-00001", "firing") in shown
        assert not any(r["started_at"] == _iso(start - 3 * HOUR_S) for r in rows)
        only = run_panel(seeded, panel("Follower spikes"), start, seeded.to_s,
                         creator=["cr-00002"])
        assert {r["creator_id"] for r in only} <= {"cr-00002"}
    finally:
        seeded.warehouse.execute(
            "ALTER TABLE follower_spike_alerts DELETE WHERE alert_id LIKE '%-old'")


def test_the_terminal_board_queries_run(seeded: Seeded) -> None:
    assert seeded.warehouse.query(TOP_CREATORS_SQL)
    seeded.warehouse.query(ACTIVE_ALERTS_SQL)


def _sorted(rows: list[dict[str, Any]]) -> list[list[tuple[str, Any]]]:
    return sorted(sorted((k, str(v)) for k, v in r.items()) for r in rows)


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
