"""Campaign, contest and disclosure rows on the old (18.16) ClickHouse server: base tables
exist, views are gated, and versioned rows converge."""

from __future__ import annotations

from decimal import Decimal

from campaignpulse.sinks.warehouse import ServerWarehouse, migrate
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.streams.campaigns.aggregator import CampaignKpiRow
from campaignpulse.streams.contests.performance import ContestMinute, ContestPerformance
from campaignpulse.streams.disclosure import DisclosureAlert
from tests.integration.services import ClickHouseServer

T0 = 1_764_288_000_000


def writes(version: int, likes: int) -> PendingWrites:
    pending = PendingWrites.empty()
    kpi = CampaignKpiRow(0, T0, T0 + 86_400_000, "cmp-1", "cr-1", (likes, 1, 0, 0, 0, 0),
                         likes + 1, 0, Decimal("12.35"), Decimal("400.00"), version)
    contest = ContestPerformance(
        "ct-1", "cr-1", "m-1", "", T0, T0 + 3_600_000, Decimal("150.00"), False, 10, likes,
        1, (1, 0, 0, 2, 0, 0, 1), 8, None if likes == 0 else Decimal("37.50"), 0, 0, 5, 3,
        version)
    alert = DisclosureAlert("disclosure-m-1", "cmp-1", "cr-1", "m-1", "firing", "missing",
                            "warning", T0, version)
    pending.campaigns.add([kpi], [contest], [ContestMinute("ct-1", T0, 10, likes, 1, version)],
                          [alert])
    return pending


def test_campaign_tables_on_an_old_server(clickhouse_server: ClickHouseServer) -> None:
    warehouse = ServerWarehouse(clickhouse_server.url, retry_for_s=30)
    statements = migrate(warehouse)
    assert any("contest_performance" in s for s in statements)
    assert not any("campaign_kpis" in s and "CREATE VIEW" in s for s in statements)
    sink = WarehouseSink(warehouse)
    sink.write(writes(version=4, likes=4))
    sink.write(writes(version=3, likes=0))  # a partial rebuild does not win
    kpi = warehouse.query("SELECT likes, emv_cents, cost_cents, version "
                          "FROM campaign_kpi_to_date FINAL")
    assert kpi == [{"likes": 4, "emv_cents": 1235, "cost_cents": 40000, "version": 4}]
    contest = warehouse.query("SELECT valid_entries, cost_per_valid_entry_cents, "
                              "too_few_mentions FROM contest_performance FINAL")
    assert contest == [{"valid_entries": 4, "cost_per_valid_entry_cents": 3750,
                        "too_few_mentions": 2}]
    assert warehouse.query("SELECT status, version FROM disclosure_alerts FINAL") == [
        {"status": "firing", "version": 4}]
    warehouse.close()
