"""Real services for integration tests, started as child processes on loopback ports."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from campaignpulse.broker import free_port, wait_for_port
from campaignpulse.sinks.warehouse import ServerWarehouse

ROOT = Path(__file__).resolve().parents[2]
KAFKA_POM = ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LIBS = Path(os.environ.get("CAMPAIGNPULSE_KAFKA_LIBS", ROOT / ".cache" / "kafka-libs"))


def kafka_libs() -> Path:
    """Apache Kafka jars from Maven Central, fetched once into .cache/."""
    if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        subprocess.run(
            ["mvn", "-q", "-B", "-f", str(KAFKA_POM), "dependency:copy-dependencies",
             f"-DoutputDirectory={KAFKA_LIBS}"],
            check=True,
        )
    return KAFKA_LIBS


@contextmanager
def apache_kafka(workdir: Path) -> Iterator[str]:
    """A single-node Apache Kafka in KRaft mode; yields its bootstrap address."""
    classpath = f"{kafka_libs()}/*"
    port, controller = free_port(), free_port()
    logs = workdir / "kafka-logs"
    config = workdir / "server.properties"
    config.write_text(
        "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={logs}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
        ]) + "\n"
    )
    cluster_id = "-"
    while cluster_id.startswith("-"):  # StorageTool would read it as an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    subprocess.run(
        ["java", "-cp", classpath, "kafka.tools.StorageTool", "format",
         f"--cluster-id={cluster_id}", "-c", str(config)],
        check=True, capture_output=True,
    )
    command = ["java", "-Xmx768m", "-cp", classpath, "kafka.Kafka", str(config)]
    with serving(command, workdir / "kafka.out", port, 60):
        yield f"127.0.0.1:{port}"


@contextmanager
def serving(command: list[str], log: Path, port: int, start_timeout_s: float) -> Iterator[None]:
    """Run ``command`` until the block ends, once it listens on ``port``."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            wait_for_port(port, start_timeout_s)
            yield
        finally:
            process.terminate()
            process.wait(30)


class ClickHouseServer:
    """The Debian clickhouse-server (18.16): a real native-protocol server we can restart."""

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = "") -> None:
        """``extra_config``: more top-level elements of config.xml (a cluster's sections)."""
        self.workdir = workdir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "users.xml").write_text(
            '<?xml version="1.0"?><yandex><profiles><default/></profiles><users><default>'
            "<password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>"
            "<profile>default</profile><quota>default</quota></default></users>"
            "<quotas><default/></quotas></yandex>"
        )
        (workdir / "config.xml").write_text(
            f"""<?xml version="1.0"?><yandex>
<logger><level>warning</level><log>{workdir}/server.log</log>
<errorlog>{workdir}/error.log</errorlog><console>0</console></logger>
<listen_host>127.0.0.1</listen_host><tcp_port>{self.port}</tcp_port>
<http_port>{free_port()}</http_port><path>{workdir}/data/</path>
<tmp_path>{workdir}/tmp/</tmp_path><user_files_path>{workdir}/user_files/</user_files_path>
<format_schema_path>{workdir}/format_schemas/</format_schema_path>
<mark_cache_size>268435456</mark_cache_size><users_config>users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
<timezone>UTC</timezone>{extra_config}</yandex>"""
        )

    @property
    def url(self) -> str:
        return f"clickhouse://default@127.0.0.1:{self.port}/default"

    def new_database(self, prefix: str) -> str:
        """The URL of a new, empty database of this server: a test's own."""
        database = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = ServerWarehouse(self.url, retry_for_s=30)
        try:
            admin.execute(f"CREATE DATABASE {database}")
        finally:
            admin.close()
        return self.url.rsplit("/", 1)[0] + f"/{database}"

    def start(self) -> None:
        binary = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
        self.process = subprocess.Popen(
            [binary, f"--config-file={self.workdir / 'config.xml'}"],
            cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None
            time.sleep(0.2)


@contextmanager
def alertmanager(workdir: Path, webhook_url: str) -> Iterator[str]:
    """The Debian ``prometheus-alertmanager``, routing everything to ``webhook_url`` fast."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        raise RuntimeError("install prometheus-alertmanager (.ci/run does)")
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route:\n"
        "  receiver: hook\n"
        "  group_by: [alertname, alert_id]\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: hook\n"
        "    webhook_configs:\n"
        f"      - url: {webhook_url}\n"
        "        send_resolved: true\n"
    )
    port = free_port()
    command = [binary, f"--config.file={config}", f"--storage.path={workdir / 'data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    with serving(command, workdir / "alertmanager.log", port, 30):
        yield f"http://127.0.0.1:{port}"


class Receiver:
    """A webhook receiver on loopback (Alertmanager's on-call or campaign team): keeps
    every notification it is sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self) -> list[dict[str, Any]]:
        return [a for note in self.received for a in note["alerts"]]

    def wait_for(self, alertname: str, status: str = "firing",
                 timeout_s: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for alert in self.alerts():
                if alert["labels"]["alertname"] == alertname and alert["status"] == status:
                    return alert
            time.sleep(0.2)
        raise AssertionError(f"no {status} {alertname}; got {self.received}")

    def close(self) -> None:
        self.server.shutdown()
