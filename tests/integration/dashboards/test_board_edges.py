"""The board on hand-written rows written through the sink: the newest version of a grain
counts (a re-sent window replaces its share of the hourly rollups, never adds to it), a
snapshot written after the interactions still counts, and a follower count older than 24
hours does not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from campaignpulse.dashboards.macros import expand
from campaignpulse.sinks.schema import COUNT_COLUMNS
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.streams.contract import FollowerSnapshot
from campaignpulse.streams.windows import EngagementRow
from tests.integration.dashboards.conftest import EVERYTHING, HOUR_S, panel

H0 = 1_796_515_200  # a whole hour


def rollup(hour_s: int, likes: int, version: int) -> EngagementRow:
    counts = tuple(likes if c == "likes" else 0 for c in COUNT_COLUMNS)
    return EngagementRow(3_600_000, hour_s * 1000, "cmp-1", "cr-a", "", counts, likes, 0,
                         version)


def snapshot(at_s: int, followers: int) -> FollowerSnapshot:
    return FollowerSnapshot("cr-a", followers, 10, at_s * 1000)


def write(warehouse: EmbeddedWarehouse, rows: list[EngagementRow] = [],  # noqa: B006
          snapshots: list[FollowerSnapshot] = []) -> None:  # noqa: B006
    pending = PendingWrites.empty()
    pending.add_engagement(rows)
    pending.snapshots.extend(snapshots)
    assert not WarehouseSink(warehouse).write(pending)


def rates(warehouse: EmbeddedWarehouse) -> dict[int, Any]:
    sql = expand(panel("Engagement rate per hour by campaign").sql, H0 + 60, H0 + 3 * HOUR_S - 60,
                 HOUR_S, EVERYTHING)
    return {int(datetime.fromisoformat(r["time"]).replace(tzinfo=UTC).timestamp()):
            r["engagement_rate"] for r in warehouse.query(sql)}


def test_versions_late_snapshots_and_stale_counts(warehouse: EmbeddedWarehouse) -> None:
    write(warehouse, snapshots=[snapshot(H0 - 25 * HOUR_S, 500)])
    write(warehouse, [rollup(H0, 10, 10), rollup(H0 + HOUR_S, 5, 5),
                      rollup(H0 + 2 * HOUR_S, 30, 30)])
    write(warehouse, [rollup(H0 + HOUR_S, 20, 20)])
    write(warehouse, [rollup(H0 + HOUR_S, 20, 20)])  # re-sent as it was
    write(warehouse, [rollup(H0 + HOUR_S, 5, 5)])  # an older version, replayed late
    # a snapshot older than 24 h before the hour's end does not count
    assert rates(warehouse) == {H0: None, H0 + HOUR_S: None, H0 + 2 * HOUR_S: None}

    # observed in the second hour, written after its interactions
    write(warehouse, snapshots=[snapshot(H0 + HOUR_S + 600, 1000)])
    got = rates(warehouse)
    assert got[H0] is None
    assert got[H0 + HOUR_S] == pytest.approx(20 / 1000)  # version 20, not 5 and 20
    assert got[H0 + 2 * HOUR_S] == pytest.approx(30 / 1000)  # the level carries an hour on
    assert warehouse.query("SELECT followers FROM follower_hours FINAL WHERE hour = {h:UInt32}",
                           {"h": H0 + HOUR_S}) == [{"followers": 1000}]
    # the rollups hold one current row per hour, whatever was re-sent
    assert warehouse.query(
        "SELECT toUInt32(hour) AS h, interactions, followers FROM campaign_hours FINAL "
        "ORDER BY h") == [{"h": H0, "interactions": 10, "followers": 0},
                          {"h": H0 + HOUR_S, "interactions": 20, "followers": 1000},
                          {"h": H0 + 2 * HOUR_S, "interactions": 30, "followers": 1000}]
