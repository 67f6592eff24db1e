"""docker-compose.yml stays true to the CLI and to what a long-running stack needs."""

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

from campaignpulse.cli import _parser

ROOT = Path(__file__).resolve().parents[3]
STATEFUL = {"kafka", "clickhouse", "prometheus", "alertmanager", "grafana"}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def services() -> dict[str, Any]:
    return dict(compose()["services"])


def ours() -> dict[str, Any]:
    built = [s["image"] for s in services().values() if "build" in s]
    return {name: s for name, s in services().items() if s.get("image") in built}


def test_compose_file_matches_the_compose_spec() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(ROOT / "docker-compose.yml")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_campaignpulse_service_runs_a_real_command() -> None:
    assert {"migrate", "worker", "notifier", "simulator"} <= set(ours())
    for name, service in ours().items():
        args = _parser().parse_args(service["command"])
        assert args.command, name


def test_our_image_is_built_once_and_reused() -> None:
    built = [name for name, s in services().items() if "build" in s]
    assert built == ["migrate"]
    for name, service in ours().items():
        if name != "migrate":
            assert service["pull_policy"] == "never", name


def test_the_simulator_paces_event_time_with_the_clock() -> None:
    args = _parser().parse_args(services()["simulator"]["command"])
    assert args.start == "now"


def test_mounted_configs_exist() -> None:
    for service in services().values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_stateful_services_have_healthchecks_and_volumes() -> None:
    named = set(compose()["volumes"])
    for name in STATEFUL:
        service = services()[name]
        assert service["healthcheck"]["test"], name
        sources = {v.split(":")[0] for v in service["volumes"]}
        assert sources & named, f"{name} keeps its state in no named volume"
    for name in ("worker", "notifier"):
        assert services()[name]["healthcheck"]["test"], name


def test_images_and_the_grafana_plugin_are_pinned() -> None:
    for name, service in services().items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
    plugins = services()["grafana"]["environment"]["GF_INSTALL_PLUGINS"]
    plugin, version = plugins.split()
    assert plugin == "grafana-clickhouse-datasource" and version[0].isdigit()


def test_grafana_reads_clickhouse_with_the_read_only_account() -> None:
    provisioning = ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
    sources = yaml.safe_load((provisioning / "datasources.yml").read_text())["datasources"]
    clickhouse = next(s for s in sources if s["type"] == "grafana-clickhouse-datasource")
    assert clickhouse["jsonData"]["username"] == "grafana"
    users = (ROOT / "deploy" / "clickhouse" / "users.d" / "grafana.xml").read_text()
    assert "<grafana>" in users and "<readonly>2</readonly>" in users
    assert "CLICKHOUSE_PASSWORD}" not in yaml.safe_dump(clickhouse)  # not the writer's


def test_notifier_reaches_alertmanager_and_serves_metrics() -> None:
    env = services()["notifier"]["environment"]
    assert env["CAMPAIGNPULSE_ALERTMANAGER_URL"].startswith("http://alertmanager:")
    targets = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in targets["scrape_configs"]}
    assert jobs["campaignpulse-notifier"]["static_configs"][0]["targets"] == ["notifier:9464"]
    assert jobs["campaignpulse-worker"]["dns_sd_configs"][0]["names"] == ["worker"]


def test_build_context_leaves_out_history_caches_and_jars() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".cache", "*.jar", "campaignpulse-data", ".venv"):
        assert entry in ignored, entry


def test_server_image_carries_no_demo_engines() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in dockerfile and "[" not in dockerfile.split(
        "pip install")[1].splitlines()[0]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "chdb" not in core and "calfkit" not in core
