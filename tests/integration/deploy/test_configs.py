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


def route(*labels: str) -> str:
    config = DEPLOY / "alertmanager" / "alertmanager.yml"
    done = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={config}",
                           *labels], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_only_critical_spikes_page() -> None:
    spike = ["alertname=CampaignpulseFollowerSpike", "creator_id=cr-1", "alert_id=cr-1-1"]
    assert route(*spike, "severity=critical") == "on-call"
    assert route(*spike, "severity=warning") == "campaign-team"
    assert route(*spike, "severity=info") == "quiet"
