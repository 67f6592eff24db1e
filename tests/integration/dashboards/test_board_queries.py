"""Every SQL panel runs on a real ClickHouse engine (chdb) against the migrated schema."""

from pathlib import Path

from campaignpulse.board import ACTIVE_ALERTS_SQL, TOP_CREATORS_SQL
from campaignpulse.dashboards.engagement import build
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate


def test_every_panel_query_runs(tmp_path: Path) -> None:
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        migrate(warehouse)
        for panel in build()["panels"]:
            for target in panel["targets"]:
                sql = target.get("rawSql")
                if sql:
                    sql = sql.replace("$__fromTime", "toDateTime(0)").replace(
                        "$__toTime", "now()")
                    warehouse.query(sql)  # raises on an unknown column or view
        warehouse.query(TOP_CREATORS_SQL)  # the demo's terminal board
        warehouse.query(ACTIVE_ALERTS_SQL)
    finally:
        warehouse.close()
