"""Measurements behind the README's sizing rule (not a test; prints one JSON line).

    PYTHONPATH=$PWD python3 -m tests.integration.cluster_load --events 100000 --workers 2

Starts Apache Kafka, ZooKeeper and two clickhouse-server replicas, migrates ``--cluster``,
publishes simulated events, and runs worker processes writing through the first node
until the group has committed every record. Reported: events per second of wall time and
per CPU-second of the workers (from the first commit that moved to the last), the inserts
and rows node A took per second and its CPU per insert, how long node B took to hold every
row after the workers finished, then how many of the sink's inserts per second node A
takes when one writer sends them back to back (``--stress-s``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from campaignpulse.broker import ensure_topics
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import ServerWarehouse
from campaignpulse.sinks.writer import WarehouseSink
from tests.integration.cluster_services import clickhouse_cluster
from tests.integration.services import ROOT, apache_kafka
from tests.integration.sinks.test_cluster import TABLE_NAMES, pending, synced
from tests.integration.state_files import make_lines, publish_lines
from tests.integration.test_state_restart import committed

EVENTS_SQL = ("SELECT event, value FROM system.events "
              "WHERE event IN ('InsertQuery', 'InsertedRows')")


def counters(node: ServerWarehouse) -> dict[str, int]:
    """(system.events lists only counters that moved.)"""
    found = {r["event"]: int(r["value"]) for r in node.query(EVENTS_SQL)}
    return {"InsertQuery": found.get("InsertQuery", 0),
            "InsertedRows": found.get("InsertedRows", 0)}


def cpu_s(pids: list[int]) -> float:
    return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)


def run_workers(settings: Settings, url: str, cluster: str, workers: int,
                ends: dict[tuple[str, int], int]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
           "CAMPAIGNPULSE_GROUP_ID": settings.group_id, "CAMPAIGNPULSE_METRICS_PORT": "0",
           "CAMPAIGNPULSE_CLICKHOUSE_URL": url, "CAMPAIGNPULSE_CLICKHOUSE_CLUSTER": cluster}
    processes = [subprocess.Popen([sys.executable, "-m", "campaignpulse.cli", "worker"],  # noqa: S603
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(workers)]
    pids = [p.pid for p in processes]
    first: tuple[float, float, int] | None = None
    try:
        while True:
            done = committed(settings.kafka_bootstrap, settings.group_id, ends)
            total = sum(min(done.get(tp, 0), end) for tp, end in ends.items())
            if first is None and total > 0:
                first = (time.monotonic(), cpu_s(pids), total)
            if total >= sum(ends.values()):
                break
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("a worker exited")
            time.sleep(0.2)
        assert first is not None
        wall, cpu = time.monotonic() - first[0], cpu_s(pids) - first[1]
        events = total - first[2]
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        for p in processes:
            p.wait(60)
    return {"events_timed": events, "wall_s": round(wall, 2), "worker_cpu_s": round(cpu, 2),
            "events_per_s": round(events / wall), "events_per_worker_cpu_s": round(events / cpu)}


def stress(node: ServerWarehouse, pid: int, seconds: float) -> dict[str, Any]:
    """The sink's flushes back to back through one node: the inserts per second it takes
    (each flush is 4 inserts: media, snapshots, media and creator windows)."""
    sink = WarehouseSink(node)
    before, cpu, started, flushes = counters(node), cpu_s([pid]), time.monotonic(), 0
    while time.monotonic() - started < seconds:
        sink.write(pending(f"stress-{flushes}", version=1, likes=flushes))
        flushes += 1
    wall = time.monotonic() - started
    inserts = counters(node)["InsertQuery"] - before["InsertQuery"]
    return {"stress_inserts_per_s": round(inserts / wall, 1),
            "stress_ms_per_insert": round(1000 * wall / inserts, 2),
            "stress_node_cpu_ms_per_insert": round(1000 * (cpu_s([pid]) - cpu) / inserts, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--creators", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--stress-s", type=float, default=20.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cluster-load-"))
    (work / "kafka").mkdir()
    with apache_kafka(work / "kafka") as bootstrap, clickhouse_cluster(work) as cluster:
        a_node = cluster.nodes[0]
        assert a_node.process is not None
        a, b = ServerWarehouse(a_node.url), ServerWarehouse(cluster.nodes[1].url)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "campaignpulse.cli", "migrate", "--cluster",  # noqa: S603
                        cluster.name], env={**os.environ, "PYTHONPATH": str(ROOT),
                                            "CAMPAIGNPULSE_CLICKHOUSE_URL": a_node.url},
                       check=True, stdout=subprocess.DEVNULL)
        migrate_s = time.monotonic() - started
        settings = Settings(kafka_bootstrap=bootstrap, group_id="load", metrics_port=0,
                            topic_partitions=args.partitions)
        ensure_topics(settings)
        lines = make_lines("load", args.events, creators=args.creators, seed=7)
        ends = publish_lines(bootstrap, lines, work / "events.jsonl").next_offsets
        before, node_cpu = counters(a), cpu_s([a_node.process.pid])
        result: dict[str, Any] = {"load": list(os.getloadavg()), "cores": os.cpu_count(),
                                  "events": args.events, "creators": args.creators,
                                  "workers": args.workers, "partitions": args.partitions,
                                  "migrate_cluster_s": round(migrate_s, 1)}
        result |= run_workers(settings, a_node.url, cluster.name, args.workers, ends)
        after = counters(a)
        inserts = after["InsertQuery"] - before["InsertQuery"]
        result |= {"node_a_inserts": inserts,
                   "node_a_rows": after["InsertedRows"] - before["InsertedRows"],
                   "node_a_cpu_ms_per_insert": round(
                       1000 * (cpu_s([a_node.process.pid]) - node_cpu) / max(inserts, 1), 2)}
        result["node_a_inserts_per_s"] = round(inserts / result["wall_s"], 1)
        started = time.monotonic()
        synced(b)
        result["node_b_caught_up_s"] = round(time.monotonic() - started, 2)
        result |= stress(a, a_node.process.pid, args.stress_s)
        synced(b)
        same = all(a.query(f"SELECT count() AS n FROM {t}") == b.query(  # noqa: S608
            f"SELECT count() AS n FROM {t}") for t in TABLE_NAMES)  # noqa: S608
        result["load_after"] = list(os.getloadavg())
        result["replicas_equal"] = same
        a.close()
        b.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
