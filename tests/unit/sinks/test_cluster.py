"""The clustered schema is the single-node schema rewritten, statement by statement."""

from __future__ import annotations

import re

import pytest

from campaignpulse import cli
from campaignpulse.sinks.cluster import ClusterError, on_cluster
from campaignpulse.sinks.schema import BACKFILLS, migrations, object_name

OLD, NEW = (18, 16), (24, 8)


@pytest.mark.parametrize("version", [OLD, NEW])
def test_every_table_is_replicated_under_its_own_name_with_a_distributed_table_beside_it(
    version: tuple[int, int],
) -> None:
    single = migrations(version)
    clustered = on_cluster(single, "prod", "analytics")
    tables = [s for s in single if s.startswith("CREATE TABLE")]
    assert len(clustered) == len(single) + len(tables)
    for statement in tables:
        name = object_name(statement)
        engine = re.search(r"ENGINE = (\w+)(\(([^)]*)\))?", statement)
        assert engine is not None
        replicated = next(
            s for s in clustered if s.startswith(f"CREATE TABLE IF NOT EXISTS {name} "))
        assert replicated.startswith(f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER prod (")
        arguments = f", {engine.group(3)}" if engine.group(3) else ""
        assert (f"ENGINE = Replicated{engine.group(1)}('/clickhouse/tables/{{shard}}/"
                f"analytics.{name}', '{{replica}}'{arguments})") in replicated
        # the rest of the definition (columns, keys, settings) is the single-node one
        assert replicated.replace(" ON CLUSTER prod", "", 1).replace(
            _engine_line(replicated), _engine_line(statement)) == statement
        assert (f"CREATE TABLE IF NOT EXISTS {name}_all ON CLUSTER prod AS {name} "
                f"ENGINE = Distributed(prod, analytics, {name})") in clustered
    for statement in single:
        if statement.startswith(("CREATE VIEW", "CREATE MATERIALIZED VIEW")):
            name = object_name(statement)
            assert statement.replace(f" {name} ", f" {name} ON CLUSTER prod ", 1) in clustered


def _engine_line(statement: str) -> str:
    return next(line for line in statement.splitlines() if "ENGINE = " in line)


def test_views_are_gated_on_a_cluster_as_on_one_server() -> None:
    assert not any(s.startswith("CREATE VIEW") for s in on_cluster(migrations(OLD), "c", "d"))
    assert any(s.startswith("CREATE VIEW") for s in on_cluster(migrations(NEW), "c", "d"))


def test_inserts_and_dropped_views_run_as_on_one_server_or_on_every_node() -> None:
    fill = BACKFILLS["follower_hours"]
    assert on_cluster([fill, "DROP VIEW IF EXISTS campaign_kpis"], "c", "d") == [
        fill, "DROP VIEW IF EXISTS campaign_kpis ON CLUSTER c"]


@pytest.mark.parametrize(("cluster", "database"), [
    ("prod; DROP TABLE media", "default"), ("prod", "a-b"), ("", "default"), ("1st", "x")])
def test_names_that_are_not_plain_identifiers_never_reach_ddl(
    cluster: str, database: str,
) -> None:
    with pytest.raises(ClusterError, match="not a plain identifier"):
        on_cluster(migrations(OLD), cluster, database)


def test_migrate_help_shows_the_cluster_option_and_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["migrate", "--help"])
    text = capsys.readouterr().out
    assert "--cluster NAME" in text and "CAMPAIGNPULSE_CLICKHOUSE_CLUSTER" in text


def test_a_cluster_needs_a_server(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CAMPAIGNPULSE_CLICKHOUSE_URL", raising=False)
    assert cli.main(["migrate", "--cluster", "prod"]) == 2
    assert "CAMPAIGNPULSE_CLICKHOUSE_URL" in capsys.readouterr().err
