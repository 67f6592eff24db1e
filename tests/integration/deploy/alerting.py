"""The shipped Alertmanager setup, run the way the compose stack runs it: the real
entrypoint renders the template from the environment and execs the real binary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from campaignpulse.broker import free_port
from tests.integration.services import serving

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
AM_DIR = DEPLOY / "alertmanager"


def render_env(workdir: Path, oncall_url: str, campaign_url: str) -> dict[str, str]:
    return {**os.environ, "ONCALL_WEBHOOK_URL": oncall_url, "CAMPAIGN_WEBHOOK_URL": campaign_url,
            "ALERTMANAGER_TEMPLATE": str(AM_DIR / "alertmanager.yml.tmpl"),
            "ALERTMANAGER_CONFIG": str(workdir / "alertmanager.yml")}


def render(workdir: Path, oncall_url: str = "http://oncall.invalid/hook",
           campaign_url: str = "http://campaign.invalid/hook") -> Path:
    """The config the container would run (entrypoint with a no-op binary)."""
    env = render_env(workdir, oncall_url, campaign_url) | {"ALERTMANAGER_BIN": "true"}
    subprocess.run(["sh", str(AM_DIR / "entrypoint.sh")], env=env, check=True)
    return workdir / "alertmanager.yml"


@contextmanager
def shipped_alertmanager(workdir: Path, oncall_url: str, campaign_url: str) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "install prometheus-alertmanager (.ci/run does)"
    port = free_port()
    env = render_env(workdir, oncall_url, campaign_url) | {"ALERTMANAGER_BIN": binary}
    command = ["sh", str(AM_DIR / "entrypoint.sh"), f"--storage.path={workdir / 'am-data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    with _env(env), serving(command, workdir / "alertmanager.log", port, 30):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _env(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def post_alerts(base_url: str, alerts: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        f"{base_url}/api/v2/alerts", data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200


def get_alerts(base_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base_url}/api/v2/alerts", timeout=5) as response:  # noqa: S310
        data: list[dict[str, Any]] = json.loads(response.read())
        return data
