"""The shipped Prometheus and Alertmanager configs pass the real tools' own checks."""

import subprocess
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_prometheus_config_is_valid() -> None:
    done = subprocess.run(["promtool", "check", "config", "--syntax-only",
                           str(DEPLOY / "prometheus" / "prometheus.yml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alertmanager_config_is_valid() -> None:
    config = DEPLOY / "alertmanager" / "alertmanager.yml"
    done = subprocess.run(["amtool", "check-config", str(config)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
