"""Open alerts' ended_at becomes NULL: migrating an old table keeps every row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campaignpulse.sinks.schema import ALERT_COLUMNS, TABLES
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, ServerWarehouse, Warehouse, migrate
from tests.integration.services import ClickHouseServer

NEW_TYPE = "Nullable(DateTime('UTC'))"
OLD_ALERTS_DDL = next(t for t in TABLES if "follower_spike_alerts" in t).replace(
    f"ended_at {NEW_TYPE}", "ended_at DateTime('UTC')"
)
EPOCH = datetime.fromtimestamp(0, UTC)
STARTED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ENDED = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


def old_row(alert_id: str, status: str, ended: datetime) -> tuple[Any, ...]:
    return (alert_id, "cr-1", ["cmp-1"], status, "critical", 0.9, STARTED, STARTED, ended,
            2000, 3.5, 12_000, ["growth_above_baseline"], [], 1)


def migrate_old_table(warehouse: Warehouse) -> list[dict[str, Any]]:
    assert "ended_at DateTime('UTC')" in OLD_ALERTS_DDL
    warehouse.execute(OLD_ALERTS_DDL)
    warehouse.insert("follower_spike_alerts", ALERT_COLUMNS, [
        old_row("cr-1-open", "firing", EPOCH), old_row("cr-1-done", "resolved", ENDED),
    ])
    migrate(warehouse)
    column = warehouse.query(
        "SELECT type FROM system.columns WHERE database = currentDatabase() "
        "AND table = 'follower_spike_alerts' AND name = 'ended_at'")
    assert column == [{"type": NEW_TYPE}]
    migrate(warehouse)  # a second run changes nothing
    return warehouse.query(
        "SELECT alert_id, status, toString(ended_at) AS ended, observed_growth "
        "FROM follower_spike_alerts FINAL ORDER BY alert_id")


EXPECTED = [
    {"alert_id": "cr-1-done", "status": "resolved", "ended": "2026-11-27 11:00:00",
     "observed_growth": 2000},
    {"alert_id": "cr-1-open", "status": "firing", "ended": None, "observed_growth": 2000},
]


def test_migrating_old_alerts_on_chdb_keeps_rows(tmp_path: Path) -> None:
    warehouse = EmbeddedWarehouse(str(tmp_path / "w"))
    try:
        assert migrate_old_table(warehouse) == EXPECTED
    finally:
        warehouse.close()


def test_migrating_old_alerts_on_clickhouse_18_keeps_rows(
    clickhouse_server: ClickHouseServer,
) -> None:
    warehouse = ServerWarehouse(clickhouse_server.new_database("old"), retry_for_s=30)
    try:
        assert migrate_old_table(warehouse) == EXPECTED
    finally:
        warehouse.close()
