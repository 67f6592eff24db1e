"""Every campaign-board panel equals an independent recount of the raw events it was
seeded from (``recount_board.py``), at hourly and coarser buckets, over ranges that start
and end inside hours."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.integration.dashboards.conftest import HOUR_S, Seeded, panel, run_panel
from tests.integration.dashboards.recount_board import Board
from tests.recount_campaigns import contest_performance, ratios

INVALID = ("before_start", "after_end", "own_account", "too_few_mentions", "missing_hashtag",
           "no_like", "repeat_entrant")


@pytest.fixture(scope="module")
def board(seeded: Seeded) -> Board:
    return Board(seeded.lines())


def ranges(seeded: Seeded) -> list[tuple[int, int, int]]:
    """(from, to, interval): the whole run, and a range inside hours at 2 h buckets."""
    return [(seeded.from_s, seeded.to_s, HOUR_S),
            (seeded.from_s + HOUR_S + 600, seeded.to_s - 1200, 2 * HOUR_S)]


def by(rows: list[dict[str, Any]], label: str, value: str) -> dict[tuple[int, str], Any]:
    return {(int(_epoch(r["time"])), r[label]): r[value] for r in rows}


def assert_rates(got: dict[tuple[int, str], Any], want: dict[tuple[int, str], Any]) -> None:
    assert got.keys() == want.keys()
    for cell, value in want.items():
        if value is None:
            assert got[cell] is None, cell
        else:
            assert got[cell] == pytest.approx(value, rel=1e-9), cell


def test_engagement_by_campaign(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, interval in ranges(seeded):
        rows = run_panel(seeded, panel("Engagement rate per hour by campaign"), from_s, to_s,
                         interval)
        want = board.rates(from_s, to_s, interval, lambda k: k[1] or "organic")
        assert_rates(by(rows, "campaign", "engagement_rate"), want)


def test_engagement_by_creator_top_and_other(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, interval in ranges(seeded):
        top = set(board.top(from_s, to_s))
        assert len(top) == 20  # 40 creators: "other" holds the other 20
        rows = run_panel(seeded, panel("Engagement rate per hour by creator"), from_s, to_s,
                         interval)
        want = board.rates(from_s, to_s, interval,
                           lambda k, top=top: k[2] if k[2] in top else "other")
        assert_rates(by(rows, "creator", "engagement_rate"), want)


def test_engagement_by_post_top_posts(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, interval in ranges(seeded):
        top = set(board.top_posts(from_s, to_s))
        assert len(top) == 20
        rows = run_panel(seeded, panel("Engagement rate per hour by post"), from_s, to_s,
                         interval)
        want = {cell: rate for cell, rate in board.rates(
            from_s, to_s, interval, lambda k: k[3], media=True).items() if cell[1] in top}
        assert_rates(by(rows, "post", "engagement_rate"), want)


def test_one_creator_is_one_series(seeded: Seeded, board: Board) -> None:
    rows = run_panel(seeded, panel("Engagement rate per hour by creator"), seeded.from_s,
                     seeded.to_s, creator=["cr-00004"])
    want = {cell: v for cell, v in board.rates(
        seeded.from_s, seeded.to_s, HOUR_S, lambda k: k[2]).items() if cell[1] == "cr-00004"}
    assert want
    assert_rates(by(rows, "creator", "engagement_rate"), want)


def test_reach_of_stories_and_reels(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, interval in ranges(seeded):
        interactions: dict[int, int] = {}
        reach: dict[int, int] = {}
        for key, row in board.hour_rows(from_s, to_s, media=True):
            if board.media[key[3]]["media_product_type"] in ("STORY", "REELS"):
                bucket = key[0] // interval * interval
                interactions[bucket] = interactions.get(bucket, 0) + row["interactions"]
                reach[bucket] = reach.get(bucket, 0) + row["reach"]
        rows = run_panel(seeded, panel("Engagement rate by reach"), from_s, to_s, interval)
        got = {int(_epoch(r["time"])): r["engagement_rate_by_reach"] for r in rows}
        assert got == pytest.approx(
            {b: interactions[b] / reach[b] if reach[b] else None for b in reach}, rel=1e-9)
        assert all(v is None or v < 1 for v in got.values())  # feed posts are left out


def test_top_creators(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, _ in ranges(seeded):
        want = board.top_creators(from_s, to_s)
        rows = run_panel(seeded, panel("Top creators"), from_s, to_s)
        assert [(r["creator_id"], r["interactions"], r["latest_followers"]) for r in rows] == want
        for r in rows:
            assert r["engagement_rate"] == pytest.approx(r["interactions"] / r["latest_followers"])


def test_followers_top_by_growth_and_other(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, interval in ranges(seeded):
        rows = run_panel(seeded, panel("Followers per creator"), from_s, to_s, interval)
        assert_rates(by(rows, "creator", "followers"), board.followers(from_s, to_s, interval))


def test_campaign_kpis_in_the_range(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, _ in ranges(seeded):
        want = board.kpis_in_range(from_s, to_s)
        rows = {r["campaign"]: r for r in run_panel(seeded, panel("Campaign KPIs in the range"),
                                                    from_s, to_s)}
        assert rows.keys() == want.keys() and want
        for campaign_id, total in want.items():
            expected = {"emv": total["emv"], "cost": total["cost"],
                        **ratios(total["emv"], total["cost"], total["interactions"],
                                 total["reach"])}
            got = rows[campaign_id]
            assert (got["interactions"], got["reach"]) == (total["interactions"], total["reach"])
            for name, value in expected.items():
                assert _money(got[name]) == value, (campaign_id, name)


def test_campaign_kpis_to_date(seeded: Seeded, board: Board) -> None:
    from tests.recount_campaigns import campaign_kpis

    want = {c: row for (c, creator), row in campaign_kpis(
        [{**c, "emv_rates": board.campaign_rates(c)} for c in board.campaigns],
        board.events()).items() if creator == ""}
    rows = {r["campaign"]: r for r in run_panel(seeded, panel("Campaign KPIs to date"),
                                                seeded.from_s, seeded.to_s)}
    assert rows.keys() == want.keys() and want
    for campaign_id, total in want.items():
        got = rows[campaign_id]
        assert got["interactions"] == total["interactions"]
        for name in ("emv", "cost", "cpe", "cpm", "roi"):
            assert _money(got[name]) == total[name], (campaign_id, name)


def test_emv_per_hour(seeded: Seeded, board: Board) -> None:
    for from_s, to_s, interval in ranges(seeded):
        rows = run_panel(seeded, panel("EMV per hour by campaign"), from_s, to_s, interval)
        got = {cell: _money(v) for cell, v in by(rows, "campaign", "emv").items()}
        assert got == board.emv_per_hour(from_s, to_s, interval)


def test_contests_and_their_entries(seeded: Seeded, board: Board) -> None:
    events = board.events()
    rows = {r["contest_id"]: r for r in run_panel(seeded, panel("Contests in the range"),
                                                  seeded.from_s, seeded.to_s)}
    assert rows.keys() == {c["contest_id"] for c in board.contests}
    per_hour = run_panel(seeded, panel("Valid contest entries per hour"), seeded.from_s,
                         seeded.to_s, HOUR_S)
    for contest in board.contests:
        want = contest_performance(contest, events)
        got = rows[contest["contest_id"]]
        assert got["state"] == "final"
        assert got["valid_entries"] == want.get("valid", 0)
        assert got["invalid_entries"] == sum(want.get(r, 0) for r in INVALID)
        assert got["unique_entrants"] == want["unique_entrants"]
        for reason in INVALID:
            if want.get(reason):
                assert f"{reason.replace('_', ' ')} {want[reason]}" in got["invalid_reasons"]
        followers = board.follower_count_at(contest["creator_id"], _ms(contest["starts_at"]))
        assert followers
        assert got["entry_rate"] == pytest.approx(want["unique_entrants"] / followers)
        assert sum(r["valid_entries"] for r in per_hour
                   if r["contest"] == contest["contest_id"]) == want.get("valid", 0)


def test_disclosure_alerts(seeded: Seeded, board: Board) -> None:
    rows = run_panel(seeded, panel("Sponsored posts without disclosure"), seeded.from_s,
                     seeded.to_s)
    listed = {c["campaign_id"] for c in board.campaigns}
    want = {m["media_id"] for m in board.media.values()
            if m.get("campaign_id") in listed and not m["paid_partnership"]
            and "#ad" not in (m.get("caption") or "").lower().split()}
    assert want and {r["media_id"] for r in rows} == want
    assert {r["status"] for r in rows} == {"firing"}


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _ms(text: str) -> int:
    from tests.recount import to_ms

    return to_ms(text)


def _epoch(value: Any) -> float:
    from datetime import UTC, datetime

    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp()
