from campaignpulse.dashboards.engagement import build


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def test_board_is_structurally_sound():
    board = build()
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for i, a in enumerate(panels):
        assert 0 <= a["gridPos"]["x"] and a["gridPos"]["x"] + a["gridPos"]["w"] <= 24
        for b in panels[i + 1:]:
            assert not overlaps(a["gridPos"], b["gridPos"]), (a["title"], b["title"])
        for target in a["targets"]:
            assert target["datasource"]["uid"] == a["datasource"]["uid"]
            assert target.get("rawSql") or target.get("expr")
