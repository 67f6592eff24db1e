"""Rows a warehouse refuses as bad data are set aside, the rest is written: on chdb and on
the 18.16 server. The contract keeps such rows out; these stand for a bug that lets one in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campaignpulse.sinks.warehouse import (
    EmbeddedWarehouse,
    ServerWarehouse,
    Warehouse,
    is_data_error,
    migrate,
)
from campaignpulse.sinks.writer import SINK_REJECTED, PendingWrites, WarehouseSink
from campaignpulse.streams.spikes.alert import Severity, SpikeAlert, Status
from campaignpulse.streams.windows import EngagementRow
from tests.integration.services import ClickHouseServer

T0 = 1_764_288_000_000


@pytest.fixture(params=["chdb", "server"])
def warehouse(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Warehouse]:
    if request.param == "chdb":
        wh: Warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    else:
        # a database of its own: the server is shared with other tests of the session
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        admin = ServerWarehouse(server.url, retry_for_s=30)
        admin.execute("DROP DATABASE IF EXISTS refused_rows")
        admin.execute("CREATE DATABASE refused_rows")
        admin.close()
        wh = ServerWarehouse(server.url.rsplit("/", 1)[0] + "/refused_rows", retry_for_s=30)
    migrate(wh)
    yield wh
    wh.close()


def alert(alert_id: str, growth: int) -> SpikeAlert:
    return SpikeAlert(alert_id, "cr-1", ("cmp",), Status.FIRING, Severity.CRITICAL, 0.9,
                      T0, T0, 0, growth, 10.5, 12_000, (), (), 1)


def test_bad_rows_are_bisected_out_and_recorded_the_rest_is_written(
    warehouse: Warehouse,
) -> None:
    pending = PendingWrites.empty()
    rows = [
        EngagementRow(60_000, T0 + i * 60_000, "cmp", "cr-1", "m-1",
                      (-1 if i in (7, 31) else i, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, 0, 1)
        for i in range(40)
    ]
    pending.add_engagement(rows)
    pending.alerts.extend([alert("ok", 5_000), alert("overflow", 2**64 - 1)])
    letters = WarehouseSink(warehouse).write(pending)

    assert warehouse.query("SELECT count() AS n FROM media_windows")[0]["n"] == 38
    assert [r["alert_id"] for r in warehouse.query(
        "SELECT alert_id FROM follower_spike_alerts")] == ["ok"]
    assert sorted(x.source_topic for x in letters) == [
        "warehouse.follower_spike_alerts", "warehouse.media_windows",
        "warehouse.media_windows"]
    recorded = warehouse.query(
        "SELECT reason, source_topic, length, sha256, prefix, detail FROM dead_letters FINAL "
        "ORDER BY source_topic, prefix")
    assert [(r["reason"], r["source_topic"]) for r in recorded] == [
        (SINK_REJECTED, "warehouse.follower_spike_alerts"),
        (SINK_REJECTED, "warehouse.media_windows"),
        (SINK_REJECTED, "warehouse.media_windows")]
    assert {r["sha256"] for r in recorded} == {x.sha256 for x in letters}
    assert "observed_growth out of range" in recorded[0]["detail"]
    assert str(2**64 - 1) in recorded[0]["prefix"]


def test_errors_are_told_apart() -> None:
    import struct

    from clickhouse_driver.errors import NetworkError, ServerException

    assert is_data_error(struct.error("argument out of range"))
    assert is_data_error(RuntimeError("Code: 72. DB::Exception: Unsigned type must not ..."))
    assert is_data_error(ServerException("Cannot parse", code=27))
    assert not is_data_error(NetworkError("connection refused"))
    assert not is_data_error(ServerException("Too many parts", code=252))
    assert not is_data_error(RuntimeError("Code: 241. DB::Exception: Memory limit exceeded"))
