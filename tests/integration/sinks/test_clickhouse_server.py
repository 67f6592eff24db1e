"""The clickhouse-driver path against a real (old, 18.16) ClickHouse server."""

from __future__ import annotations

import threading
import time

from campaignpulse.sinks.warehouse import ServerWarehouse, migrate
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.streams.contract import FollowerSnapshot, Media
from campaignpulse.streams.windows import EngagementRow
from tests.integration.services import ClickHouseServer

T0 = 1_764_288_000_000


def pending(version: int, likes: int) -> PendingWrites:
    writes = PendingWrites.empty()
    writes.add_engagement([
        EngagementRow(60_000, T0, "cmp-1", "cr-1", "m-1", (likes, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                      3, 0, version),
        EngagementRow(3_600_000, T0, "cmp-1", "cr-1", "", (likes, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                      3, 0, version),
    ])
    writes.media.append(Media("m-1", "cr-1", "cmp-1", "FEED", T0, True,
                              "caption with 'quotes'); DROP TABLE media; --"))
    writes.snapshots.append(FollowerSnapshot("cr-1", 12_000, 300, T0 - 1000))
    return writes


def current(warehouse: ServerWarehouse) -> list[dict[str, object]]:
    rows = warehouse.query(
        "SELECT window_seconds, media_id, likes, version FROM media_windows FINAL UNION ALL "
        "SELECT window_seconds, '' AS media_id, likes, version FROM creator_windows FINAL")
    return sorted(rows, key=lambda r: (r["window_seconds"], r["media_id"]))


def test_versioned_writes_converge_on_an_old_server(clickhouse_server: ClickHouseServer) -> None:
    warehouse = ServerWarehouse(clickhouse_server.url, retry_for_s=30)
    assert warehouse.server_version() < (20, 1)
    statements = migrate(warehouse)
    assert not any("CREATE VIEW" in s for s in statements)  # gated: no ASOF JOIN on 18.16
    sink = WarehouseSink(warehouse)
    sink.write(pending(version=2, likes=5))
    sink.write(pending(version=1, likes=3))  # a partial rebuild must not win
    sink.write(pending(version=2, likes=5))  # a replay of the same rows
    assert current(warehouse) == [
        {"window_seconds": 60, "media_id": "m-1", "likes": 5, "version": 2},
        {"window_seconds": 3600, "media_id": "", "likes": 5, "version": 2},
    ]
    caption = warehouse.query("SELECT caption FROM media FINAL")[0]["caption"]
    assert caption == "caption with 'quotes'); DROP TABLE media; --"
    assert warehouse.query(
        "SELECT count() AS n FROM follower_snapshots FINAL WHERE creator_id = %(c)s", {"c": "cr-1"}
    ) == [{"n": 1}]
    warehouse.close()


def test_sink_waits_out_a_server_restart(clickhouse_server: ClickHouseServer) -> None:
    warehouse = ServerWarehouse(clickhouse_server.url, retry_for_s=60)
    migrate(warehouse)
    sink = WarehouseSink(warehouse)
    sink.write(pending(version=2, likes=5))
    clickhouse_server.stop()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            sink.write(pending(version=7, likes=9))
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(2.0)
    assert writer.is_alive(), "the write should be waiting for the server, not failing"
    clickhouse_server.start()
    writer.join(60)
    assert not writer.is_alive() and errors == []
    assert [row["likes"] for row in current(warehouse)] == [9, 9]
    warehouse.close()
