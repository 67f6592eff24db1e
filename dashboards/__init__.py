"""Grafana dashboards as code (grafana-foundation-sdk), for ClickHouse and Prometheus."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder


def boards() -> dict[str, Callable[[], Any]]:
    """File name -> builder of each board."""
    from campaignpulse.dashboards import campaign, oncall

    return {"campaigns.json": campaign.build, "oncall.json": oncall.build}


def render(build: Callable[[], Any]) -> dict[str, Any]:
    """The dashboard JSON Grafana stores, as plain data."""
    data: dict[str, Any] = json.loads(json.dumps(build().build(), cls=JSONEncoder))
    return data


def to_text(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build in boards().items():
        path = directory / name
        path.write_text(to_text(render(build)))
        written.append(path)
    return written
