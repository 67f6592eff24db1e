"""`campaignpulse migrate --cluster` on two Debian clickhouse-server 18.16 replicas of one
shard with Apache ZooKeeper: the tables exist on both nodes after one run, rows the
worker's sink writes through one node read back equal through the other, versions
written through different nodes converge on the same current row, and a worker process
writing through one node leaves the recount readable through the other."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campaignpulse.broker import ensure_topics, free_port
from campaignpulse.settings import Settings
from campaignpulse.sinks import hour_rollups, schema_authenticity, schema_campaigns
from campaignpulse.sinks.schema import COUNT_COLUMNS, TABLES, object_name
from campaignpulse.sinks.warehouse import ServerWarehouse
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.streams.contract import FollowerSnapshot, Media
from campaignpulse.streams.windows import EngagementRow
from tests.integration.cluster_services import Cluster
from tests.integration.services import ROOT, ClickHouseServer
from tests.integration.state_files import (
    expected,
    make_lines,
    publish_lines,
    start_group_at_the_end,
    stop_once_committed,
)

T0 = 1_764_288_000_000
TABLE_NAMES = [object_name(t) for t in (*TABLES, *hour_rollups.TABLES, *schema_campaigns.TABLES,
                                        *schema_authenticity.TABLES)]
TABLES_SQL = ("SELECT name, engine FROM system.tables WHERE database = currentDatabase() "
              "AND name NOT LIKE '.%'")


@pytest.fixture(scope="module")
def nodes(clickhouse_cluster: Cluster) -> Iterator[tuple[ServerWarehouse, ServerWarehouse]]:
    """Both nodes, after one `campaignpulse migrate --cluster` through the first."""
    first, second = clickhouse_cluster.nodes
    env = {**os.environ, "CAMPAIGNPULSE_CLICKHOUSE_URL": first.url}
    done = subprocess.run(
        [sys.executable, "-m", "campaignpulse.cli", "migrate", "--cluster",
         clickhouse_cluster.name], env=env, capture_output=True, text=True, timeout=300,
        check=False)
    assert done.returncode == 0, done.stderr
    assert f"CREATE TABLE IF NOT EXISTS media_windows ON CLUSTER {clickhouse_cluster.name} (" \
        in done.stdout.splitlines()
    a, b = ServerWarehouse(first.url, retry_for_s=30), ServerWarehouse(second.url, retry_for_s=30)
    yield a, b
    a.close()
    b.close()


def synced(node: ServerWarehouse) -> ServerWarehouse:
    """``node`` once it has fetched every part its replicas announced."""
    for table in TABLE_NAMES:
        node.execute(f"SYSTEM SYNC REPLICA {table}")
    return node


def rows(node: ServerWarehouse, table: str) -> list[dict[str, Any]]:
    return sorted(node.query(f"SELECT * FROM {table} FINAL"), key=repr)  # noqa: S608


def pending(creator: str, version: int, likes: int) -> PendingWrites:
    writes = PendingWrites.empty()
    counts = (likes, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    writes.add_engagement([
        EngagementRow(60_000, T0, "cmp-1", creator, "m-1", counts, 3, 0, version),
        EngagementRow(3_600_000, T0, "cmp-1", creator, "", counts, 3, 0, version),
    ])
    writes.media.append(Media("m-1", creator, "cmp-1", "FEED", T0, True, "a caption"))
    writes.snapshots.append(FollowerSnapshot(creator, 12_000 + version, 300, T0 + version))
    return writes


def test_one_migrate_creates_replicated_and_distributed_tables_on_both_nodes(
    nodes: tuple[ServerWarehouse, ServerWarehouse],
) -> None:
    engines = [{r["name"]: r["engine"] for r in node.query(TABLES_SQL)} for node in nodes]
    assert engines[0] == engines[1]
    for table in TABLE_NAMES:
        assert engines[1][table] == "ReplicatedReplacingMergeTree", table
        assert engines[1][f"{table}_all"] == "Distributed", table
    assert engines[1]["follower_hours_mv"] == "MaterializedView"
    assert set(engines[1]) == {*TABLE_NAMES, *(f"{t}_all" for t in TABLE_NAMES),
                               "follower_hours_mv"}


def test_rows_written_through_one_node_read_back_equal_through_the_other(
    nodes: tuple[ServerWarehouse, ServerWarehouse],
) -> None:
    a, b = nodes
    WarehouseSink(a).write(pending("cr-equal", version=2, likes=5))
    synced(b)
    for table in TABLE_NAMES:
        assert rows(b, table) == rows(a, table), table
        assert rows(b, f"{table}_all") == rows(a, table), table
    # Every table the sink writes arrived, and the view's table (filled on node A's insert).
    got = {t: len(rows(b, t)) for t in ("media", "follower_snapshots", "media_windows",
                                        "creator_windows", "follower_hours")}
    assert got == {"media": 1, "follower_snapshots": 1, "media_windows": 1,
                   "creator_windows": 1, "follower_hours": 1}


def test_versions_written_through_different_nodes_converge(
    nodes: tuple[ServerWarehouse, ServerWarehouse],
) -> None:
    """A worker writes version 2 through node A; after a rebalance another worker,
    connected to node B, rebuilds the grain from fewer events (version 1), then replays
    version 2: both nodes read version 2, one current row per grain."""
    a, b = nodes
    WarehouseSink(a).write(pending("cr-moved", version=2, likes=5))
    WarehouseSink(b).write(pending("cr-moved", version=1, likes=3))
    WarehouseSink(b).write(pending("cr-moved", version=2, likes=5))
    sql = ("SELECT window_seconds, likes, version FROM {} FINAL "  # noqa: S608
           "WHERE creator_id = 'cr-moved' ORDER BY window_seconds")
    for node in (synced(a), synced(b)):
        for table in ("media_windows", "creator_windows", "media_windows_all"):
            want = [{"window_seconds": 60 if table.startswith("media") else 3600,
                     "likes": 5, "version": 2}]
            assert node.query(sql.format(table)) == want, table
        hours = node.query("SELECT followers FROM follower_hours FINAL "
                           "WHERE creator_id = 'cr-moved'")
        assert hours == [{"followers": 12_002}]  # the latest snapshot of the hour


def engagement(node: ServerWarehouse, prefix: str) -> dict[str, dict[tuple, dict]]:
    """The recount's shape (tests/recount.py) from the tables: 18.16 has no ASOF JOIN for
    the engagement views."""
    got: dict[str, dict[tuple, dict]] = {"engagement_minute": {}, "engagement_hour": {}}
    for table, media in (("media_windows", "media_id"), ("creator_windows", "''")):
        found = node.query(
            f"SELECT window_seconds, toUnixTimestamp(window_start) AS ws, campaign_id, "  # noqa: S608
            f"creator_id, {media} AS media_id, {', '.join(COUNT_COLUMNS)}, unique_actors, "
            f"reach FROM {table} FINAL WHERE startsWith(creator_id, %(prefix)s)",
            {"prefix": f"{prefix}-"})
        for r in found:
            grain = "engagement_minute" if r["window_seconds"] == 60 else "engagement_hour"
            key = (r["ws"], r["campaign_id"], r["creator_id"], r["media_id"])
            assert key not in got[grain], f"{grain}: more than one row for {key}"
            got[grain][key] = {
                **{c: r[c] for c in (*COUNT_COLUMNS, "unique_actors", "reach")},
                "interactions": r["likes"] + r["comments"] + r["saves"] + r["shares"]}
    return got


def test_a_worker_writing_through_one_node_leaves_the_recount_on_the_other(
    nodes: tuple[ServerWarehouse, ServerWarehouse], clickhouse_cluster: Cluster,
    kafka_bootstrap: str, tmp_path: Path,
) -> None:
    a, b = nodes
    group = "cluster-worker"
    lines = make_lines("clw", 6_000, creators=20, seed=3)
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id=group, metrics_port=0)
    ensure_topics(settings)
    asyncio.run(start_group_at_the_end(kafka_bootstrap, group))
    ends = publish_lines(kafka_bootstrap, lines, tmp_path / "events.jsonl").next_offsets
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "CAMPAIGNPULSE_GROUP_ID": group, "CAMPAIGNPULSE_METRICS_PORT": "0",
           "CAMPAIGNPULSE_CLICKHOUSE_URL": clickhouse_cluster.nodes[0].url,
           "CAMPAIGNPULSE_CLICKHOUSE_CLUSTER": clickhouse_cluster.name}
    worker = subprocess.Popen([sys.executable, "-m", "campaignpulse.cli", "worker"], env=env,
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(worker.stderr or ()), daemon=True).start()
    try:
        stop_once_committed(worker, log, kafka_bootstrap, group, ends, timeout_s=240)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(30)
    want = expected(lines)
    on_b = engagement(synced(b), "clw")
    assert sum(len(grains) for grains in on_b.values()) > 1_000
    assert on_b == want
    assert engagement(a, "clw") == on_b


def test_migrate_refuses_clusters_it_cannot_use_and_the_server_stays_up(tmp_path: Path) -> None:
    """An unknown cluster, two shards, or no ZooKeeper: one line saying why, exit 1, no
    DDL sent (18.16 crashes on ON CLUSTER DDL without a ZooKeeper session)."""
    port = free_port()
    replica = f"<replica><host>127.0.0.1</host><port>{port}</port></replica>"
    server = ClickHouseServer(tmp_path, port, f"""<remote_servers>
<one><shard>{replica}</shard></one><two><shard>{replica}</shard><shard>{replica}</shard></two>
</remote_servers>""")
    server.start()
    try:
        env = {**os.environ, "CAMPAIGNPULSE_CLICKHOUSE_URL": server.url}
        said = {}
        for cluster in ("nosuch", "two", "one"):
            done = subprocess.run(
                [sys.executable, "-m", "campaignpulse.cli", "migrate", "--cluster", cluster],
                env=env, capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 1 and done.stdout == "", (cluster, done.stderr)
            said[cluster] = done.stderr
        assert "knows no cluster 'nosuch'" in said["nosuch"]
        assert "'two' has 2 shards" in said["two"]
        assert "does not reach ZooKeeper" in said["one"]
        warehouse = ServerWarehouse(server.url)
        assert warehouse.query(TABLES_SQL) == []  # nothing was created
        warehouse.close()
    finally:
        server.stop()
