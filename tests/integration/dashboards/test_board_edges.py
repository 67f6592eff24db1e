"""The board on hand-written rows: the newest version of a grain counts, a snapshot written
after the interactions still counts, and a follower count older than 24 hours does not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from campaignpulse.dashboards.macros import expand
from campaignpulse.sinks.schema import COUNT_COLUMNS, CREATOR_WINDOW_COLUMNS, SNAPSHOT_COLUMNS
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from tests.integration.dashboards.conftest import EVERYTHING, HOUR_S, panel

H0 = 1_796_515_200  # a whole hour


def at(s: int) -> datetime:
    return datetime.fromtimestamp(s, UTC)


def rollup(hour_s: int, likes: int, version: int) -> tuple[Any, ...]:
    counts = [likes if c == "likes" else 0 for c in COUNT_COLUMNS]
    return (3600, at(hour_s), "cmp-1", "cr-a", *counts, likes, 0, version)


def snapshot(at_s: int, followers: int) -> tuple[Any, ...]:
    return ("cr-a", at_s * 1000, at(at_s), followers, 10)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[EmbeddedWarehouse]:
    wh = EmbeddedWarehouse(str(tmp_path / "wh"))
    migrate(wh)
    yield wh
    wh.close()


def rates(warehouse: EmbeddedWarehouse) -> dict[int, Any]:
    sql = expand(panel("Engagement rate per hour by campaign").sql, H0 + 60, H0 + 3 * HOUR_S - 60,
                 HOUR_S, EVERYTHING)
    return {int(datetime.fromisoformat(r["time"]).replace(tzinfo=UTC).timestamp()):
            r["engagement_rate"] for r in warehouse.query(sql)}


def test_versions_late_snapshots_and_stale_counts(warehouse: EmbeddedWarehouse) -> None:
    warehouse.insert("follower_snapshots", SNAPSHOT_COLUMNS, [snapshot(H0 - 25 * HOUR_S, 500)])
    warehouse.insert("creator_windows", CREATOR_WINDOW_COLUMNS, [
        rollup(H0, 10, 10), rollup(H0 + HOUR_S, 5, 5), rollup(H0 + 2 * HOUR_S, 30, 30)])
    warehouse.insert("creator_windows", CREATOR_WINDOW_COLUMNS, [rollup(H0 + HOUR_S, 20, 20)])
    # a snapshot older than 24 h before the hour's end does not count
    assert rates(warehouse) == {H0: None, H0 + HOUR_S: None, H0 + 2 * HOUR_S: None}

    # observed in the second hour, written after its interactions
    warehouse.insert("follower_snapshots", SNAPSHOT_COLUMNS, [snapshot(H0 + HOUR_S + 600, 1000)])
    got = rates(warehouse)
    assert got[H0] is None
    assert got[H0 + HOUR_S] == pytest.approx(20 / 1000)  # version 20, not 5 and 20
    assert got[H0 + 2 * HOUR_S] == pytest.approx(30 / 1000)  # the level carries an hour on
    assert warehouse.query("SELECT followers FROM follower_hours FINAL WHERE hour = {h:UInt32}",
                           {"h": H0 + HOUR_S}) == [{"followers": 1000}]
