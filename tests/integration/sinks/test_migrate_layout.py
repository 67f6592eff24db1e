"""``migrate`` moves a warehouse of the older layout (media rows and creator rollups in one
``engagement_windows`` keyed by time; KPI hours and to-date rows in one
``campaign_kpi_windows``) into the new tables without losing a row, on chdb and on the
Debian ClickHouse 18.16 server, and fills ``follower_hours`` from the snapshots it has and
the hourly rollups from the moved rows (not on 18.16: they need ClickHouse 20.5)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campaignpulse.sinks import hour_rollups
from campaignpulse.sinks.migrations import kept_tables
from campaignpulse.sinks.schema import (
    COUNT_COLUMNS,
    CREATOR_WINDOW_COLUMNS,
    MEDIA_WINDOW_COLUMNS,
    SNAPSHOT_COLUMNS,
)
from campaignpulse.sinks.schema_campaigns import KPI_COLUMNS
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, ServerWarehouse, Warehouse, migrate
from tests.integration.services import ClickHouseServer

_COUNTS = ",\n    ".join(f"{c} UInt32" for c in COUNT_COLUMNS)
#: the older layout, as `migrate` created it before
OLD_TABLES = (
    f"""CREATE TABLE engagement_windows (
    window_seconds UInt32, window_start DateTime('UTC'), campaign_id String,
    creator_id String, media_id String, {_COUNTS}, unique_actors UInt32, reach UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY (window_seconds, toYYYYMM(window_start))
ORDER BY (window_seconds, window_start, campaign_id, creator_id, media_id)""",
    """CREATE TABLE campaign_kpi_windows (
    window_seconds UInt32, window_start DateTime('UTC'), window_end DateTime('UTC'),
    campaign_id String, creator_id String, likes UInt32, comments UInt32, saves UInt32,
    shares UInt32, story_views UInt32, reel_plays UInt32, interactions UInt64, reach UInt64,
    emv_cents Int64, cost_cents Int64, version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (campaign_id, creator_id, window_seconds, window_start)""",
    """CREATE TABLE follower_snapshots (
    creator_id String, observed_at_ms UInt64, observed_at DateTime('UTC'),
    followers_count UInt64, follows_count UInt64
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(observed_at)
ORDER BY (creator_id, observed_at_ms)""",
)
#: a view of the older layout (on servers that have views): it must be replaced
OLD_VIEW = ("CREATE VIEW engagement_hour AS SELECT window_start, creator_id, media_id, likes "
            "FROM engagement_windows FINAL WHERE window_seconds = 3600")
T0 = 1_764_547_200  # 2025-12-01 00:00 UTC
ENGAGEMENT = ("window_seconds", "window_start", "campaign_id", "creator_id", "media_id",
              *COUNT_COLUMNS, "unique_actors", "reach", "version")


def engagement_rows() -> list[tuple[Any, ...]]:
    """Minute and hour rows, media and rollups, two versions of some grains."""
    from datetime import UTC, datetime

    rows = []
    for seconds in (60, 3600):
        for n in range(30):
            start = datetime.fromtimestamp(T0 + (n % 5) * seconds, UTC)
            media = "" if n % 3 == 0 else f"cr-{n % 4}-m{n % 2}"
            counts = [n + 1, n % 3, 0, 1, 0, 0, 0, 0, 0, n % 2]
            rows.extend((seconds, start, "cmp-1" if n % 4 else "", f"cr-{n % 4}", media,
                         *[c * version for c in counts], 2, n % 2, version)
                        for version in ((1, 2) if n % 2 else (3,)))
    return rows


def kpi_rows() -> list[tuple[Any, ...]]:
    from datetime import UTC, datetime

    def at(s: int) -> datetime:
        return datetime.fromtimestamp(s, UTC)

    hours = [(3600, at(T0 + h * 3600), at(T0 + (h + 1) * 3600), "cmp-1", f"cr-{c}",
              h + 1, c, 0, 0, 0, 0, h + 1 + c, 2, 100 * h + c, 50, v)
             for h in range(4) for c in range(2) for v in (1, 2)]
    to_date = [(0, at(0), at(T0 + 86_400), "cmp-1", f"cr-{c}", 10, c, 0, 0, 0, 0, 10 + c, 5,
                1000 + c, 400, 8) for c in range(2)]
    return hours + to_date


def snapshot_rows() -> list[tuple[Any, ...]]:
    from datetime import UTC, datetime

    return [(f"cr-{n % 2}", (T0 + n * 700) * 1000, datetime.fromtimestamp(T0 + n * 700, UTC),
             1000 + n, 10) for n in range(20)]


def old_warehouse(warehouse: Warehouse) -> None:
    for statement in OLD_TABLES:
        warehouse.execute(statement)
    if warehouse.server_version() >= (20, 1):
        warehouse.execute(OLD_VIEW)
    warehouse.insert("engagement_windows", ENGAGEMENT, engagement_rows())
    warehouse.insert("campaign_kpi_windows", KPI_COLUMNS, kpi_rows())
    warehouse.insert("follower_snapshots", SNAPSHOT_COLUMNS, snapshot_rows())


def every_row(warehouse: Warehouse, table: str, columns: tuple[str, ...]) -> list[tuple]:
    """All stored rows, every version (no FINAL), comparable across tables."""
    listed = ", ".join(f"toString({c})" if c in ("window_start", "window_end") else c
                       for c in columns)
    return sorted(tuple(r.values()) for r in warehouse.query(
        f"SELECT {listed} FROM {table}"))  # noqa: S608 - our constants


def check_move(warehouse: Warehouse) -> None:
    old_warehouse(warehouse)
    before = every_row(warehouse, "engagement_windows", ENGAGEMENT)
    kpis_before = every_row(warehouse, "campaign_kpi_windows", KPI_COLUMNS)
    migrate(warehouse)

    media = every_row(warehouse, "media_windows", MEDIA_WINDOW_COLUMNS)
    rollups = [(*r[:4], "", *r[4:]) for r in every_row(warehouse, "creator_windows",
                                                         CREATOR_WINDOW_COLUMNS)]
    assert sorted(media + rollups) == before and media and rollups
    assert every_row(warehouse, "engagement_windows_v1", ENGAGEMENT) == before
    kpis = (every_row(warehouse, "campaign_kpi_hours", KPI_COLUMNS)
            + every_row(warehouse, "campaign_kpi_to_date", KPI_COLUMNS))
    assert sorted(kpis) == kpis_before
    assert kept_tables(warehouse) == ["campaign_kpi_windows_v1", "engagement_windows_v1"]

    # the current row of each grain, with the key that now leads with the six-hour block
    current = warehouse.query("SELECT window_start, media_id, likes, version FROM media_windows "
                              "FINAL WHERE window_seconds = 3600 "
                              "AND bucket = toDateTime('2025-12-01 00:00:00') "
                              "AND creator_id = 'cr-1' ORDER BY window_start, media_id")
    assert [r["version"] for r in current] == [2] * len(current) and current
    levels = warehouse.query("SELECT creator_id, toString(hour) AS hour, followers "
                             "FROM follower_hours FINAL ORDER BY creator_id, hour")
    expected: dict[tuple[str, str], int] = {}
    for creator, _, at, count, _ in snapshot_rows():
        expected[(creator, at.strftime("%Y-%m-%d %H:00:00"))] = count  # the hour's latest
    assert {(r["creator_id"], r["hour"]): r["followers"] for r in levels} == expected

    # the hourly rollups are derived from the moved rows (where the server can compute them)
    rollups_sql = ("SELECT campaign_id, toString(hour) AS hour, interactions "
                   "FROM campaign_hours FINAL ORDER BY campaign_id, hour")
    if warehouse.server_version() >= hour_rollups.MIN_VERSION:
        recount = warehouse.query(
            "SELECT campaign_id, toString(window_start) AS hour, "
            "sum(likes + comments + saves + shares) AS interactions FROM creator_windows FINAL "
            "WHERE window_seconds = 3600 GROUP BY campaign_id, hour ORDER BY campaign_id, hour")
        assert warehouse.query(rollups_sql) == recount and recount
    else:
        assert warehouse.query(rollups_sql) == []

    again = migrate(warehouse)  # nothing left to move
    assert not [s for s in again if s.startswith(("INSERT", "RENAME", "DROP"))]


def test_moving_the_old_layout_on_chdb(tmp_path: Path) -> None:
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        check_move(warehouse)
        # the old view read the old table: it now reads the new ones
        hour = warehouse.query("SELECT count() AS n, sum(likes) AS likes FROM engagement_hour")
        expected = warehouse.query(
            "SELECT count() AS n, sum(likes) AS likes FROM engagement_windows_v1 FINAL "
            "WHERE window_seconds = 3600")
        assert hour == expected
    finally:
        warehouse.close()


@pytest.fixture
def old_server_database(clickhouse_server: ClickHouseServer) -> Iterator[ServerWarehouse]:
    warehouse = ServerWarehouse(clickhouse_server.new_database("layout"), retry_for_s=30)
    yield warehouse
    warehouse.close()


def test_moving_the_old_layout_on_clickhouse_18(old_server_database: ServerWarehouse) -> None:
    assert old_server_database.server_version() < (20, 1)
    check_move(old_server_database)


def test_two_workers_migrating_at_once(old_server_database: ServerWarehouse,
                                       clickhouse_server: ClickHouseServer) -> None:
    """Workers run migrate as they start: two at once both succeed and no row is lost."""
    from concurrent.futures import ThreadPoolExecutor

    old_warehouse(old_server_database)
    before = every_row(old_server_database, "engagement_windows", ENGAGEMENT)
    url = clickhouse_server.url.rsplit("/", 1)[0] + "/" + str(
        old_server_database.query("SELECT currentDatabase() AS d")[0]["d"])
    other = ServerWarehouse(url, retry_for_s=30)
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(migrate, [old_server_database, other]))
    finally:
        other.close()
    current = {r for r in every_row(old_server_database, "media_windows", MEDIA_WINDOW_COLUMNS)}
    assert current == {r for r in before if r[4]}  # copied once or twice: the same rows
    assert kept_tables(old_server_database) == ["campaign_kpi_windows_v1",
                                                "engagement_windows_v1"]
