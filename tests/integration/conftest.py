from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from tests.integration.cluster_services import Cluster
from tests.integration.services import ClickHouseServer, apache_kafka


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with apache_kafka(tmp_path_factory.mktemp("kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture(autouse=True, scope="module")
def _fresh_topics(request: pytest.FixtureRequest) -> None:
    """Each test module on the shared broker starts with empty topics: none reads another
    module's records (tests within a module may share theirs, as their fixtures intend)."""
    if any("kafka_bootstrap" in getattr(item, "fixturenames", ())
           for item in request.session.items if getattr(item, "module", None) is request.module):
        from tests.integration.kafka_topics import forget_inputs

        forget_inputs(request.getfixturevalue("kafka_bootstrap"))


@pytest.fixture(params=["native", "faust"])
def engine(request: pytest.FixtureRequest) -> str:
    """The worker engine a test runs on: every engine keeps the same contract."""
    return str(request.param)


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def clickhouse_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Apache ZooKeeper and two Debian clickhouse-server replicas of one shard."""
    import shutil

    from tests.integration.cluster_services import clickhouse_binary, clickhouse_cluster

    if clickhouse_binary() is None or shutil.which("java") is None:
        pytest.skip("needs the Debian clickhouse-server and java (.ci/run installs both)")
    with clickhouse_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[EmbeddedWarehouse]:
    """An embedded warehouse (chdb) with the schema, in the test's own directory."""
    wh = EmbeddedWarehouse(str(tmp_path / "wh"))
    migrate(wh)
    yield wh
    wh.close()
