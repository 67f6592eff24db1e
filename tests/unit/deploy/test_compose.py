"""docker-compose.yml stays true to the CLI: every campaignpulse command in it parses."""

from pathlib import Path
from typing import Any

import yaml

from campaignpulse.cli import _parser

ROOT = Path(__file__).resolve().parents[3]


def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return dict(compose["services"])


def test_every_campaignpulse_service_runs_a_real_command() -> None:
    ours = {name: s for name, s in services().items() if "build" in s}
    assert {"migrate", "worker", "notifier", "simulator"} <= set(ours)
    for name, service in ours.items():
        args = _parser().parse_args(service["command"])
        assert args.command, name


def test_mounted_configs_exist() -> None:
    for service in services().values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_the_notifier_reaches_alertmanager() -> None:
    env = services()["notifier"]["environment"]
    assert env["CAMPAIGNPULSE_ALERTMANAGER_URL"].startswith("http://alertmanager:")
