"""The warehouse on a ClickHouse cluster (``migrate --cluster NAME``): the schema's own
statements, rewritten to run ``ON CLUSTER`` with Replicated engines.

Layout: one shard, every node a replica. Each table keeps its name and becomes a
Replicated*MergeTree at ``/clickhouse/tables/{shard}/<db>.<table>``, so the worker,
migrate and the boards use the same names on any node, and every node holds every row.
The worker writes to the local table of the node it is connected to; ZooKeeper-backed
replication carries the parts to the other replicas, and the highest version still wins
on every replica (one shard: all versions of a grain meet in the same table). Next to
each table, ``<table>_all`` is a Distributed table over the cluster for reads that should
survive a node being down (it picks a live replica). More than one shard is refused: the
versions of one grain, written by whichever worker owns its partition at the time, could
land on different shards and never be merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from campaignpulse.errors import UserError, first_line

if TYPE_CHECKING:
    from campaignpulse.sinks.warehouse import Warehouse

#: suffix of the Distributed table over each replicated table
DISTRIBUTED_SUFFIX = "_all"
ZOOKEEPER_PATH = "/clickhouse/tables/{{shard}}/{database}.{table}"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CREATE = re.compile(
    r"^(CREATE (?:TABLE|VIEW|MATERIALIZED VIEW) IF NOT EXISTS|DROP VIEW IF EXISTS) (\w+)"
)
_ENGINE = re.compile(r"ENGINE = (\w*MergeTree)(?:\(([^)]*)\))?")
ZOOKEEPER_SQL = "SELECT count() AS n FROM system.zookeeper WHERE path = '/'"
SHARDS_SQL = ("SELECT uniqExact(shard_num) AS shards, count() AS nodes FROM system.clusters "
              "WHERE cluster = %(cluster)s")


class ClusterError(UserError):
    """The named cluster cannot hold this warehouse (unknown, more than one shard, or no
    ZooKeeper)."""


def identifier(name: str, what: str) -> str:
    """Names reach DDL text, so only plain identifiers are accepted."""
    if not _IDENTIFIER.fullmatch(name):
        raise ClusterError(f"{what} {name!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return name


def on_cluster(statements: Iterable[str], cluster: str, database: str) -> list[str]:
    """``statements`` of the single-node schema as they run on every node of ``cluster``.

    DDL gains ``ON CLUSTER``; MergeTree engines become replicated; each table is followed
    by its Distributed table. Inserts (backfills, moves) stay as they are: they run on one
    node and replication carries their rows.
    """
    cluster, database = identifier(cluster, "cluster"), identifier(database, "database")
    done: list[str] = []
    for statement in statements:
        head = _CREATE.match(statement)
        if head is None:
            done.append(statement)
            continue
        verb, name = head.groups()
        clustered = f"{verb} {name} ON CLUSTER {cluster}{statement[head.end():]}"
        if not verb.startswith("CREATE TABLE"):
            done.append(clustered)
            continue
        done.append(_replicated(clustered, database, name))
        done.append(
            f"CREATE TABLE IF NOT EXISTS {name}{DISTRIBUTED_SUFFIX} ON CLUSTER {cluster} "
            f"AS {name} ENGINE = Distributed({cluster}, {database}, {name})"
        )
    return done


def _replicated(statement: str, database: str, table: str) -> str:
    """``ENGINE = XMergeTree(args)`` -> ``ReplicatedXMergeTree('<path>', '{replica}', args)``."""
    engine = _ENGINE.search(statement)
    if engine is None:
        raise ValueError(f"{table}: no MergeTree engine to replicate")
    family, arguments = engine.groups()
    path = ZOOKEEPER_PATH.format(database=database, table=table)
    extra = f", {arguments}" if arguments else ""
    replicated = f"ENGINE = Replicated{family}('{path}', '{{replica}}'{extra})"
    return statement[:engine.start()] + replicated + statement[engine.end():]


def check_cluster(warehouse: Warehouse, cluster: str) -> int:
    """The cluster's node count, once the server knows it as one shard and reaches
    ZooKeeper (ClickHouse 18.16 crashes on ON CLUSTER DDL without a session)."""
    found = warehouse.query(SHARDS_SQL, {"cluster": identifier(cluster, "cluster")})
    shards, nodes = int(found[0]["shards"]), int(found[0]["nodes"])
    if nodes == 0:
        raise ClusterError(f"the server knows no cluster {cluster!r} (remote_servers in its "
                           "config; system.clusters lists the clusters it knows)")
    if shards != 1:
        raise ClusterError(f"cluster {cluster!r} has {shards} shards; the warehouse needs "
                           "one shard with any number of replicas (README, More than one "
                           "machine)")
    try:
        warehouse.query(ZOOKEEPER_SQL)
    except Exception as exc:
        raise ClusterError(f"the server does not reach ZooKeeper ({first_line(exc)}); "
                           "ON CLUSTER DDL needs it (the zookeeper section of its "
                           "config)") from exc
    return nodes


def current_database(warehouse: Warehouse) -> str:
    return str(warehouse.query("SELECT currentDatabase() AS db")[0]["db"])
