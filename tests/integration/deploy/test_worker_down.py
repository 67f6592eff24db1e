"""A killed worker pages on-call: real `campaignpulse worker` on real Kafka, scraped by the
real Prometheus with the shipped rules, routed by the real Alertmanager with the shipped
(rendered) config to an on-call webhook on loopback.

Only the durations change for the test: scrape and evaluation every second, and each
rule's ``for:`` shortened to 2 s (the rules' timing is covered by promtool's unit tests).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from campaignpulse.broker import ensure_topics, free_port, wait_for_port
from campaignpulse.dashboards import oncall
from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.settings import Settings
from tests.integration.deploy.alerting import DEPLOY, shipped_alertmanager
from tests.integration.services import Receiver, apache_kafka


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:  # noqa: S310
        return str(r.read().decode())


def promql(base: str, expr: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback
            body = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 503:  # still starting (replaying its WAL): not an answer yet
            return []
        raise
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait(what: str, check: Any, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_pages_on_call(tmp_path: Path) -> None:
    # A broker of its own: the session broker's input topics are read from the start by
    # other tests, which must not see this test's events.
    (tmp_path / "kafka").mkdir()
    with apache_kafka(tmp_path / "kafka") as kafka_bootstrap:
        _killed_worker_pages_on_call(kafka_bootstrap, tmp_path)


def _killed_worker_pages_on_call(kafka_bootstrap: str, tmp_path: Path) -> None:
    prometheus_bin = shutil.which("prometheus")
    assert prometheus_bin, "install prometheus (.ci/run does)"
    group = f"worker-down-{time.time_ns()}"
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id=group)
    ensure_topics(settings)
    publisher = Publisher(kafka_bootstrap, client_id="worker-down-test")
    simulator = CampaignSimulator(seed=5, start_ms=int(time.time() * 1000) - 3_600_000,
                                  creators=20)
    publisher.publish(envelope_to_outgoing(e) for e in itertools.islice(simulator.events(), 3000))
    publisher.close()

    metrics_port = free_port()
    env = {**os.environ, "CAMPAIGNPULSE_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "CAMPAIGNPULSE_GROUP_ID": group, "CAMPAIGNPULSE_METRICS_PORT": str(metrics_port),
           "CAMPAIGNPULSE_DATA_DIR": str(tmp_path / "wh")}
    env.pop("CAMPAIGNPULSE_CLICKHOUSE_URL", None)
    worker = subprocess.Popen([sys.executable, "-m", "campaignpulse.cli", "worker"], env=env,
                              stdout=(tmp_path / "worker.log").open("wb"),
                              stderr=subprocess.STDOUT)
    oncall_hook, campaign_hook = Receiver(), Receiver()
    notifier: subprocess.Popen[bytes] | None = None
    try:
        wait_for_port(metrics_port, 60)
        # the lag gauge comes from the real consumer's high-water marks
        lag = re.compile(r'campaignpulse_consumer_lag_records\{topic="ig.interactions"\} \d')
        no_likes = 'campaignpulse_events_total{kind="like",topic="ig.interactions"} 0.0'
        wait("events and lag on /metrics",
             lambda: lag.search(text := scrape(metrics_port)) and no_likes not in text)

        with shipped_alertmanager(tmp_path, oncall_hook.url, campaign_hook.url) as am_url:
            notifier_port = free_port()
            notifier = subprocess.Popen(
                [sys.executable, "-m", "campaignpulse.cli", "notify"],
                env=env | {"CAMPAIGNPULSE_METRICS_PORT": str(notifier_port),
                           "CAMPAIGNPULSE_ALERTMANAGER_URL": am_url,
                           "CAMPAIGNPULSE_ALERT_GROUP_ID": f"{group}-notifier"},
                stdout=(tmp_path / "notifier.log").open("wb"), stderr=subprocess.STDOUT)
            wait_for_port(notifier_port, 60)
            assert 'campaignpulse_alertmanager_posts_total{outcome="error"} 0.0' in scrape(
                notifier_port)
            prom_url = _start_prometheus(prometheus_bin, tmp_path, metrics_port, am_url,
                                         notifier_port)
            try:
                up = 'up{job="campaignpulse-worker"} == 1'
                wait("worker scraped", lambda: promql(prom_url, up))
                # every on-call panel's PromQL runs on the real server
                for panel in oncall.PANELS:
                    expr = (panel.expr.replace("$__rate_interval", "1m")  # "All" of both
                            .replace("$job", ".*").replace("$instance", ".*"))
                    assert 'job=~".*", instance=~".*"' in expr, expr  # every panel filters
                    if "last good post" in panel.title:  # empty until a post succeeds
                        promql(prom_url, expr)
                    else:  # rate() needs two scrapes
                        wait(panel.title, lambda e=expr: promql(prom_url, e), 20)
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
                alert = oncall_hook.wait_for("CampaignpulseWorkerDown", timeout_s=90)
                assert alert["labels"]["instance"] == f"127.0.0.1:{metrics_port}"
                assert alert["labels"]["severity"] == "critical"
                assert not any(a["labels"]["alertname"] == "CampaignpulseWorkerDown"
                               for a in campaign_hook.alerts())
            finally:
                _stop(prom_url)
    finally:
        for process in (worker, notifier):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        oncall_hook.close()
        campaign_hook.close()


_PROMETHEUS: dict[str, subprocess.Popen[bytes]] = {}


def _start_prometheus(binary: str, workdir: Path, metrics_port: int, am_url: str,
                      notifier_port: int) -> str:
    rules = workdir / "rules"
    rules.mkdir()
    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        (rules / path.name).write_text(re.sub(r"for: \w+", "for: 2s", path.read_text()))
    config = workdir / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules}/*.yml']\n"
        "scrape_configs:\n"
        "  - job_name: campaignpulse-worker\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
        "  - job_name: campaignpulse-notifier\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{notifier_port}']}}]\n"
        "alerting:\n  alertmanagers:\n"
        f"    - static_configs: [{{targets: ['{am_url.removeprefix('http://')}']}}]\n"
    )
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=(workdir / "prometheus.log").open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    _PROMETHEUS[url] = process
    wait_for_port(port, 30)
    wait("Prometheus ready", lambda: _ready(url), 30)
    return url


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:  # noqa: S310 - loopback
            return bool(r.status == 200)
    except OSError:  # 503 while it starts
        return False


def _stop(url: str) -> None:
    process = _PROMETHEUS.pop(url)
    process.terminate()
    process.wait(30)


