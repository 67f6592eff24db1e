"""`campaignpulse migrate` on the Debian ClickHouse 18.16 server: base tables are created,
and the views it cannot have and the rollups it cannot fill are named, with the reason."""

from __future__ import annotations

import os
import subprocess
import sys

from campaignpulse.sinks.schema import skipped_objects
from campaignpulse.sinks.warehouse import ServerWarehouse
from tests.integration.services import ClickHouseServer


def test_migrate_names_what_it_skipped_on_an_old_server(
    clickhouse_server: ClickHouseServer,
) -> None:
    env = {**os.environ, "CAMPAIGNPULSE_CLICKHOUSE_URL": clickhouse_server.url}
    done = subprocess.run([sys.executable, "-m", "campaignpulse.cli", "migrate"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped ")]
    assert [line.split(":")[0] for line in skipped] == [
        "skipped creator_hours", "skipped campaign_hours", "skipped post_hour_tops",
        "skipped engagement_minute", "skipped engagement_hour", "skipped campaign_kpis_hour",
        "skipped campaign_kpis", "skipped contest_kpis"]
    for line in skipped[:3]:
        assert ">= 20.5" in line and "not filled" in line
    for line in skipped[3:]:
        assert ">= 20.1" in line and "server is 18.16" in line and "FINAL" in line
    warehouse = ServerWarehouse(clickhouse_server.url)
    tables = {r["name"] for r in warehouse.query("SELECT name FROM system.tables "
                                                 "WHERE database = 'default'")}
    warehouse.close()
    assert {"media_windows", "creator_windows", "follower_snapshots", "follower_hours",
            "follower_hours_mv", "media", "campaign_hours", "campaign_kpi_hours",
            "campaign_kpi_to_date"} <= tables
    assert not {"engagement_minute", "engagement_hour", "campaign_kpis"} & tables


def test_nothing_is_skipped_where_views_exist() -> None:
    assert [name for name, _ in skipped_objects((20, 1))] == [
        "creator_hours", "campaign_hours", "post_hour_tops"]
    assert skipped_objects((20, 5)) == [] and skipped_objects((24, 8)) == []
