"""The shipped read-only Grafana account works on a real ClickHouse server (Debian 18.16):
it reads the warehouse, cannot write or change it, and takes its password from the env."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaignpulse.sinks.schema import MEDIA_COLUMNS
from campaignpulse.sinks.warehouse import ServerWarehouse, migrate
from tests.integration.services import ClickHouseServer

PASSWORD = "reader-secret"  # noqa: S105 - a throwaway server's test account
MEDIA = ("m1", "cr-1", "", "STORY", datetime(2026, 1, 1, tzinfo=UTC), 0, "")
USERS_D = Path(__file__).resolve().parents[3] / "deploy" / "clickhouse" / "users.d"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    workdir = tmp_path_factory.mktemp("ch-readonly")
    ch = ClickHouseServer(workdir)
    shutil.copytree(USERS_D, workdir / "users.d")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CLICKHOUSE_GRAFANA_PASSWORD", PASSWORD)
        ch.start()
    writer = ServerWarehouse(ch.url, retry_for_s=5)
    migrate(writer)
    writer.insert("media", MEDIA_COLUMNS, [MEDIA])
    writer.close()
    yield ch
    ch.stop()


def reader(server: ClickHouseServer, password: str = PASSWORD) -> ServerWarehouse:
    return ServerWarehouse(f"clickhouse://grafana:{password}@127.0.0.1:{server.port}/default",
                           retry_for_s=1)


def test_grafana_account_reads_the_warehouse(server: ClickHouseServer) -> None:
    wh = reader(server)
    assert wh.query("SELECT media_id FROM media FINAL") == [{"media_id": "m1"}]
    wh.close()


def test_grafana_account_cannot_insert(server: ClickHouseServer) -> None:
    from clickhouse_driver.errors import ServerException

    wh = reader(server)
    with pytest.raises(ServerException, match=r"(?i)readonly"):
        wh.insert("media", MEDIA_COLUMNS, [MEDIA])
    wh.close()


@pytest.mark.parametrize("statement", [
    "CREATE TABLE evil (x UInt8) ENGINE = Memory",
    "DROP TABLE media",
])
def test_grafana_account_cannot_write(server: ClickHouseServer, statement: str) -> None:
    from clickhouse_driver.errors import ServerException

    wh = reader(server)
    with pytest.raises(ServerException, match=r"(?i)readonly"):
        wh.execute(statement)
    wh.close()


def test_grafana_account_needs_the_password_from_the_environment(
    server: ClickHouseServer,
) -> None:
    from clickhouse_driver.errors import ServerException

    wh = reader(server, "wrong")
    with pytest.raises(ServerException):
        wh.query("SELECT 1")
    wh.close()
