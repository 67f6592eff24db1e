"""The shipped Prometheus and Alertmanager configs pass the real tools' own checks, the
alert rules pass their promtool unit tests, and every route goes where it should."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.deploy.alerting import (
    DEPLOY,
    get_alerts,
    post_alerts,
    render,
    shipped_alertmanager,
)
from tests.integration.services import Receiver


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_prometheus_config_and_rules_are_valid() -> None:
    out = run("promtool", "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert "SUCCESS" in out and "rules found" in out


def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    tests = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
    assert tests
    out = run("promtool", "test", "rules", *map(str, tests))
    assert "SUCCESS" in out


def test_every_alert_rule_names_service_team_and_severity() -> None:
    import yaml

    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                labels = rule["labels"]
                assert labels["service"] == "campaignpulse", rule["alert"]
                assert labels["team"] == "pipeline", rule["alert"]
                assert labels["severity"] in ("critical", "warning"), rule["alert"]


def test_rendered_alertmanager_config_is_valid(tmp_path: Path) -> None:
    config = render(tmp_path, "https://pager.example/hook", "https://chat.example/hook")
    run("amtool", "check-config", str(config))
    text = config.read_text()
    assert "https://pager.example/hook" in text
    assert not re.search(r"\$\{[A-Za-z_]", text)


def test_a_missing_receiver_url_stops_the_container(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        render(tmp_path, "http://oncall/", "")


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("am"))


def route(config: Path, *labels: str) -> str:
    return run("amtool", "config", "routes", "test", f"--config.file={config}",
               *labels).strip()


SPIKE = ("alertname=CampaignpulseFollowerSpike", "creator_id=cr-1", "alert_id=cr-1-1",
         "service=campaignpulse")


@pytest.mark.parametrize(("labels", "receiver"), [
    ((*SPIKE, "severity=critical"), "on-call"),
    ((*SPIKE, "severity=warning"), "campaign-team"),
    ((*SPIKE, "severity=info"), "quiet"),
    (("alertname=CampaignpulseWorkerDown", "team=pipeline", "service=campaignpulse",
      "severity=critical", "instance=10.0.0.2:9464"), "on-call"),
    (("alertname=CampaignpulseNoEvents", "team=pipeline", "service=campaignpulse",
      "severity=warning"), "on-call"),
    # the disclosure check is a campaign matter: never paged, whatever its severity
    (("alertname=CampaignpulseDisclosureMissing", "team=campaign", "service=campaignpulse",
      "severity=warning"), "campaign-team"),
    (("alertname=CampaignpulseDisclosureMissing", "team=campaign", "service=campaignpulse",
      "severity=critical"), "campaign-team"),
    # authenticity (pods, bots, fake audiences) is a campaign matter too: never paged
    (("alertname=CampaignpulseInauthenticEngagement", "team=campaign",
      "service=campaignpulse", "severity=warning", "campaign_id=cmp-1", "creator_id=cr-1",
      "alert_id=authenticity-cmp-1-cr-1"), "campaign-team"),
    (("alertname=CampaignpulseInauthenticEngagement", "team=campaign",
      "service=campaignpulse", "severity=critical", "creator_id=cr-1"), "campaign-team"),
    (("alertname=SomethingNew",), "on-call"),
])
def test_routes(routed: Path, labels: tuple[str, ...], receiver: str) -> None:
    assert route(routed, *labels) == receiver


def _alert(**labels: str) -> dict[str, object]:
    return {"labels": {"service": "campaignpulse", **labels}}


def _inhibited(alerts: list[dict[str, object]], name: str, **labels: str) -> bool:
    for alert in alerts:
        got = alert["labels"]
        assert isinstance(got, dict)
        if got["alertname"] == name and all(got.get(k) == v for k, v in labels.items()):
            status = alert["status"]
            assert isinstance(status, dict)
            return bool(status["inhibitedBy"])
    raise AssertionError(f"{name} {labels} not in {alerts}")


def test_inhibition_only_between_alerts_of_the_same_kind(tmp_path: Path) -> None:
    """Real Alertmanager: a critical pipeline alert (no creator_id) must not mute a
    warning spike; a critical spike mutes the same creator's warning spike only."""
    hooks = Receiver(), Receiver()
    try:
        with shipped_alertmanager(tmp_path, hooks[0].url, hooks[1].url) as url:
            post_alerts(url, [
                _alert(alertname="CampaignpulseWorkerDown", team="pipeline",
                       severity="critical", instance="w1"),
                _alert(alertname="CampaignpulseFollowerSpike", severity="warning",
                       creator_id="cr-a", alert_id="cr-a-1"),
                _alert(alertname="CampaignpulseFollowerSpike", severity="critical",
                       creator_id="cr-b", alert_id="cr-b-1"),
                _alert(alertname="CampaignpulseFollowerSpike", severity="warning",
                       creator_id="cr-b", alert_id="cr-b-2"),
                _alert(alertname="CampaignpulseDisclosureMissing", team="campaign",
                       severity="warning", campaign_id="cmp-1"),
            ])
            deadline = time.monotonic() + 15
            while True:
                alerts = get_alerts(url)
                if len(alerts) == 5 and _inhibited(alerts, "CampaignpulseFollowerSpike",
                                                   creator_id="cr-b", severity="warning"):
                    break
                assert time.monotonic() < deadline, alerts
                time.sleep(0.3)
            assert not _inhibited(alerts, "CampaignpulseFollowerSpike", creator_id="cr-a")
            assert not _inhibited(alerts, "CampaignpulseDisclosureMissing")
            assert not _inhibited(alerts, "CampaignpulseWorkerDown")
    finally:
        for hook in hooks:
            hook.close()
