"""A ClickHouse cluster for integration tests: Apache ZooKeeper and two Debian
clickhouse-server processes, one shard with two replicas, all on loopback ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from campaignpulse.broker import free_port
from tests.integration.services import ROOT, ClickHouseServer, serving

ZOOKEEPER_POM = ROOT / "deploy" / "zookeeper" / "pom.xml"
ZOOKEEPER_LIBS = Path(
    os.environ.get("CAMPAIGNPULSE_ZOOKEEPER_LIBS", ROOT / ".cache" / "zookeeper-libs")
)
CLUSTER = "campaignpulse_test"


def clickhouse_binary() -> str | None:
    found = shutil.which("clickhouse-server")
    if found:
        return found
    return "/usr/sbin/clickhouse-server" if os.access("/usr/sbin/clickhouse-server", os.X_OK) \
        else None


def zookeeper_libs() -> Path:
    """Apache ZooKeeper jars from Maven Central, fetched once into .cache/ (as .ci/run does)."""
    if not any(ZOOKEEPER_LIBS.glob("zookeeper-3.*.jar")):
        subprocess.run(
            ["mvn", "-q", "-B", "-f", str(ZOOKEEPER_POM), "dependency:copy-dependencies",
             "-DincludeScope=runtime", f"-DoutputDirectory={ZOOKEEPER_LIBS}"],
            check=True,
        )
    return ZOOKEEPER_LIBS


@contextmanager
def apache_zookeeper(workdir: Path) -> Iterator[int]:
    """A standalone ZooKeeper server; yields its client port."""
    port = free_port()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    command = ["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false",
               "-cp", f"{zookeeper_libs()}/*", "org.apache.zookeeper.server.ZooKeeperServerMain",
               str(port), str(data)]
    with serving(command, workdir / "zookeeper.out", port, 60):
        _await_serving(port, 60)
        yield port


def _await_serving(port: int, timeout_s: float) -> None:
    """ZooKeeper listens before it serves (sessions fail until then), and ClickHouse
    18.16 crashes on ON CLUSTER DDL when its DDL worker found no session at start."""
    deadline = time.monotonic() + timeout_s
    answer = b""
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 2) as s:
            s.sendall(b"srvr")
            answer = s.recv(4096)
            if b"Mode:" in answer:
                return
        time.sleep(0.2)
    raise TimeoutError(f"ZooKeeper on {port} does not serve after {timeout_s}s: {answer!r}")


@dataclass(frozen=True)
class Cluster:
    name: str
    nodes: tuple[ClickHouseServer, ...]


def _cluster_config(name: str, ports: list[int], zookeeper_port: int, replica: int,
                    interserver_port: int) -> str:
    replicas = "".join(f"<replica><host>127.0.0.1</host><port>{p}</port></replica>"
                       for p in ports)
    return f"""
<interserver_http_host>127.0.0.1</interserver_http_host>
<interserver_http_port>{interserver_port}</interserver_http_port>
<remote_servers><{name}><shard><internal_replication>true</internal_replication>{replicas}
</shard></{name}></remote_servers>
<zookeeper><node><host>127.0.0.1</host><port>{zookeeper_port}</port></node>
<session_timeout_ms>30000</session_timeout_ms></zookeeper>
<macros><shard>01</shard><replica>replica-{replica}</replica></macros>
<distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>"""


@contextmanager
def clickhouse_cluster(workdir: Path, replicas: int = 2) -> Iterator[Cluster]:
    """One shard, ``replicas`` replicas, coordinated by a ZooKeeper of its own."""
    with ExitStack() as stack:
        zookeeper_port = stack.enter_context(apache_zookeeper(workdir / "zookeeper"))
        ports = [free_port() for _ in range(replicas)]
        nodes = tuple(
            ClickHouseServer(workdir / f"node-{n}", port, _cluster_config(
                CLUSTER, ports, zookeeper_port, n, free_port()))
            for n, port in enumerate(ports)
        )
        for node in nodes:
            stack.callback(node.stop)
            node.start()
        yield Cluster(CLUSTER, nodes)
