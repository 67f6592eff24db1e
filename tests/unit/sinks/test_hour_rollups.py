"""Which hours a flush recomputes: those of the hourly rows it wrote, and the 24 hours a
snapshot can be the follower level of (sinks/hour_rollups.py)."""

from __future__ import annotations

import re

from campaignpulse.sinks.hour_rollups import refresh_statements

H0 = 1_796_515_200  # a whole hour, 00:00 UTC


def hours_named(statement: str) -> set[int]:
    listed = re.search(r"window_start IN \(((?:toDateTime\(\d+, 'UTC'\)(?:, )?)+)\)", statement)
    assert listed is not None
    return {int(n) for n in re.findall(r"toDateTime\((\d+), 'UTC'\)", listed[1])}


def test_nothing_written_nothing_recomputed() -> None:
    assert refresh_statements([], []) == []


def test_window_hours_are_recomputed_in_every_rollup() -> None:
    creators, campaigns, posts = refresh_statements([H0 + 60, H0 + 3600], [])
    assert creators.startswith("INSERT INTO creator_hours")
    assert campaigns.startswith("INSERT INTO campaign_hours")
    assert posts.startswith("INSERT INTO post_hour_tops")
    assert hours_named(creators) == hours_named(posts) == {H0, H0 + 3600}


def test_a_snapshot_relevels_the_day_after_it_but_leaves_the_posts() -> None:
    statements = refresh_statements([], [(H0 + 1800) * 1000])
    assert [s.split()[2] for s in statements] == ["creator_hours", "campaign_hours"]
    assert hours_named(statements[0]) == {H0 + h * 3600 for h in range(24)}


def test_a_long_replay_is_recomputed_in_short_statements() -> None:
    year = [H0 + h * 3600 for h in range(24 * 365)]
    statements = refresh_statements(year, [])
    assert max(len(s) for s in statements) < 16_000  # the server's limit is 256 KiB
    named = set().union(*(hours_named(s) for s in statements if "creator_hours (" in s))
    assert named == set(year)
