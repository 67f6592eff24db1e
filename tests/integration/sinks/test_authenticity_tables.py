"""Authenticity rows on chdb and on the old (18.16) ClickHouse server: the tables exist on
both, rows written twice (a restart writes them again) leave one current row per grain,
and the sums per creator are the stage's; the example text travels as a bound
parameter, quotes and all."""

from __future__ import annotations

from pathlib import Path

from campaignpulse.sinks.warehouse import EmbeddedWarehouse, ServerWarehouse, Warehouse, migrate
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.streams.authenticity.alerts import AuthenticityAlert
from campaignpulse.streams.authenticity.followers import AudienceRow
from campaignpulse.streams.authenticity.outputs import AuthenticityRow, CopyPasteCluster
from campaignpulse.streams.authenticity.pods import Ring
from campaignpulse.streams.authenticity.stage import AuthenticityOutput
from tests.integration.services import ClickHouseServer

T0 = 1_764_288_000_000
BUCKET = 600_000


def output() -> AuthenticityOutput:
    out = AuthenticityOutput()
    for i in range(6):
        row = AuthenticityRow.empty(T0 + (i // 2) * BUCKET, f"cr-{i % 2}", f"m-{i}", "cmp-1")
        row.raw[0], row.authentic[0], row.excluded[3], row.events = 10 + i, 7, 3, 10 + i
        out.rows.append(row)
    out.rings.append(Ring("ring-1", ("a1", "a2", "a3"), ("cr-0", "cr-1"), 4))
    out.ring_seen_ms.append(T0)
    out.clusters.append(CopyPasteCluster("text-1-00ff", "so 'cute'; DROP TABLE x --",
                                         ("b1", "b2", "b3"), ("cr-0", "cr-1", "cr-2"), T0, 3))
    out.audience.append(AudienceRow("cr-0", T0, 150, 30, 0.2, 0.15, 0.08, 0.23))
    out.alerts.append(AuthenticityAlert("authenticity-cmp-1-cr-0", "cmp-1", "cr-0", "firing",
                                        ("pod_share",), 0.3, 0.0, None, 57, T0, 1))
    return out


def check(warehouse: Warehouse) -> None:
    migrate(warehouse)
    sink = WarehouseSink(warehouse)
    for _ in range(2):
        pending = PendingWrites.empty()
        pending.authenticity.add(output())
        assert sink.write(pending) == []
    sums = warehouse.query(
        "SELECT creator_id, sum(raw_likes) AS raw, sum(authentic_likes) AS authentic, "
        "sum(excluded_pod) AS pod, count() AS n FROM authenticity_buckets FINAL "
        "GROUP BY creator_id ORDER BY creator_id")
    assert sums == [{"creator_id": "cr-0", "raw": 10 + 12 + 14, "authentic": 21, "pod": 9, "n": 3},
                    {"creator_id": "cr-1", "raw": 11 + 13 + 15, "authentic": 21, "pod": 9,
                     "n": 3}]
    assert warehouse.query("SELECT example FROM authenticity_clusters FINAL") == [
        {"example": "so 'cute'; DROP TABLE x --"}]
    rings = warehouse.query("SELECT ring_id, members, targets FROM authenticity_rings FINAL")
    assert [(r["ring_id"], list(r["members"]), list(r["targets"])) for r in rings] == [
        ("ring-1", ["a1", "a2", "a3"], ["cr-0", "cr-1"])]
    assert warehouse.query("SELECT status, inauthentic_low, version FROM "
                           "authenticity_alerts FINAL") == [
        {"status": "firing", "inauthentic_low": None, "version": 1}]
    assert warehouse.query("SELECT sampled, low FROM audience_quality FINAL") == [
        {"sampled": 150, "low": 0.08}]


def test_on_chdb(tmp_path: Path) -> None:
    warehouse = EmbeddedWarehouse(str(tmp_path / "chdb"))
    try:
        check(warehouse)
    finally:
        warehouse.close()


def test_on_an_old_server(clickhouse_server: ClickHouseServer) -> None:
    warehouse = ServerWarehouse(clickhouse_server.url, retry_for_s=30)
    try:
        check(warehouse)
    finally:
        warehouse.close()
