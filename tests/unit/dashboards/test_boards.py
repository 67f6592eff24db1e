"""The committed dashboard JSON is what the builders produce, and the boards hold together."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from campaignpulse.dashboards import boards, render, to_text

DASHBOARDS = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards"


@pytest.mark.parametrize("name", sorted(boards()))
def test_committed_json_equals_the_builder_output(name: str) -> None:
    committed = (DASHBOARDS / name).read_text()
    assert committed == to_text(render(boards()[name])), (
        f"regenerate: python -m campaignpulse.dashboards ({name} is stale)")


def test_no_stray_dashboard_files() -> None:
    assert {p.name for p in DASHBOARDS.glob("*.json")} == set(boards())


def overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


@pytest.mark.parametrize("name", sorted(boards()))
def test_board_is_structurally_sound(name: str) -> None:
    board: dict[str, Any] = render(boards()[name])
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert len({b["uid"] for b in map(render, boards().values())}) == len(boards())
    defined = {v["name"] for v in board.get("templating", {}).get("list", [])}
    text = json.dumps(board)
    used = {v for v in re.findall(r"\$\{(\w+)(?::\w+)?\}", text) if not v.startswith("__")}
    assert used <= defined, used - defined
    for i, a in enumerate(panels):
        pos = a["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24
        for b in panels[i + 1:]:
            assert not overlaps(pos, b["gridPos"]), (a["title"], b["title"])
        assert a["fieldConfig"]["defaults"].get("unit"), a["title"]
        for target in a["targets"]:
            assert target["datasource"]["uid"] == a["datasource"]["uid"]
            assert target.get("rawSql") or target.get("expr")
        if a["type"] == "timeseries":
            assert a["options"]["legend"]["showLegend"], a["title"]


def test_campaign_board_filters_and_annotates() -> None:
    board = render(boards()["campaigns.json"])
    assert [v["name"] for v in board["templating"]["list"]] == ["campaign", "creator"]
    assert board["annotations"]["list"][0]["target"]["rawSql"].startswith("SELECT started_at")
    for p in board["panels"]:
        sql = p["targets"][0]["rawSql"]
        if p["type"] == "timeseries" and "engagement" in sql:
            assert "$__timeInterval(" in sql and p["interval"] == "1h", p["title"]
    reach = next(p for p in board["panels"] if "reach" in p["title"])
    assert "('STORY', 'REELS')" in reach["targets"][0]["rawSql"]
