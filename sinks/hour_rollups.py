"""Hourly rollups the board reads instead of joining every creator hour to its follower
level at query time.

- ``creator_hours``: a creator's interactions in a campaign and hour with its follower
  level of that hour (the latest snapshot in the 24 hours before the hour ended), so the
  per-creator panels need no join;
- ``campaign_hours``: the same summed per campaign and hour, with the reach of stories and
  reels, so the "All creators" panels read a few rows per hour whatever the creators;
- ``post_hour_tops``: the 20 busiest posts of each campaign and hour. The 20 posts with
  the busiest hour in a range are among them (a post outside its hour's 20 has 20 posts
  ahead of it in the range too), so ranking posts reads at most 20 rows per campaign hour.

The rows are derived, never written by hand: after each flush the sink recomputes the hours
it touched from the current rows of ``creator_windows``, ``media_windows``,
``follower_hours`` and ``media`` (``refresh_statements``). A re-sent window (a higher version
of a grain) therefore replaces its share instead of adding to it, a late follower snapshot
re-levels the hours it affects, and a replay, which writes the same source rows, recomputes
the same sums. Each recomputation is versioned by the server's clock when it started: the
one that started last saw every row committed before it, and wins (ReplacingMergeTree).
``migrate`` fills the tables once from the source tables (``BACKFILL``).

Needs ASOF JOIN and now64 (ClickHouse >= 20.5); older servers get the tables, empty, and
the board needs a newer server anyway.
"""

# ruff: noqa: S608 - SQL built from this module's constants and integers only

from __future__ import annotations

from collections.abc import Iterable

from campaignpulse.sinks.schema import BUCKET, GRANULE

HOUR_S = 3600
DAY_S = 86_400
#: the six-hour block of UTC time (``BUCKET``) in seconds
BLOCK_S = 6 * HOUR_S
#: ASOF JOIN (20.1), toUnixTimestamp64Micro (20.5)
MIN_VERSION = (20, 5)
#: posts kept per campaign and hour (the board's top-N)
POSTS_PER_HOUR = 20
#: hours recomputed by one set of statements
HOURS_PER_STATEMENT = 168

_VERSION = "toUInt64(toUnixTimestamp64Micro(now64(6)))"
_INTERACTIONS = "toUInt64(likes + comments + saves + shares)"


def _table(name: str, columns: str, key: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {name} (
    hour DateTime('UTC'),
    campaign_id String,
    {columns},
    version UInt64,
    bucket DateTime('UTC') MATERIALIZED {BUCKET.format("hour")}
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (bucket, campaign_id, {key})
SETTINGS index_granularity = {GRANULE}"""


TABLES = (
    _table("creator_hours", "creator_id String,\n    interactions UInt64,\n    followers UInt64",
           "creator_id, hour"),
    _table("campaign_hours", ",\n    ".join(f"{c} UInt64" for c in (
        "interactions", "followed_interactions", "followers", "reach_interactions",
        "reach")), "hour"),
    _table("post_hour_tops", "place UInt8,\n    media_id String,\n    creator_id String,\n"
                             "    interactions UInt64", "hour, place"),
)


def _creator_hours(hours: str, levels: str) -> str:
    return f"""INSERT INTO creator_hours (hour, campaign_id, creator_id, interactions, followers,
    version)
SELECT e.hour, e.campaign_id, e.creator_id, e.interactions,
    if(e.hour - l.level_hour < {DAY_S}, l.followers, 0), {_VERSION}
FROM (SELECT window_start AS hour, campaign_id, creator_id, {_INTERACTIONS} AS interactions
      FROM creator_windows FINAL WHERE window_seconds = {HOUR_S} AND {hours}) AS e
ASOF LEFT JOIN (SELECT creator_id, hour AS level_hour, followers FROM follower_hours FINAL
                WHERE {levels}) AS l
ON e.creator_id = l.creator_id AND e.hour >= l.level_hour"""


def _campaign_hours(hours: str, media_hours: str) -> str:
    """From ``creator_hours`` (written just before). ``followed_*``: creator hours whose
    follower level is known, as the per-creator panels count them."""
    return f"""INSERT INTO campaign_hours (hour, campaign_id, interactions,
    followed_interactions, followers, reach_interactions, reach, version)
SELECT hour, campaign_id, sum(i), sum(fi), sum(f), sum(ri), sum(r), {_VERSION}
FROM (
    SELECT hour, campaign_id, interactions AS i,
        if(followers > 0, interactions, 0) AS fi, followers AS f, toUInt64(0) AS ri,
        toUInt64(0) AS r
    FROM creator_hours FINAL WHERE {hours}
    UNION ALL
    SELECT window_start, campaign_id, 0, 0, 0, {_INTERACTIONS}, toUInt64(reach)
    FROM media_windows FINAL WHERE window_seconds = {HOUR_S} AND {media_hours}
        AND media_id IN (SELECT media_id FROM media
                         WHERE media_product_type IN ('STORY', 'REELS'))
)
GROUP BY hour, campaign_id"""


def _post_hour_tops(media_hours: str) -> str:
    """Posts ordered as the board ranks them: interactions, then media_id."""
    return f"""INSERT INTO post_hour_tops (hour, campaign_id, place, media_id, creator_id,
    interactions, version)
SELECT hour, campaign_id, place, p.1, p.2, p.3, {_VERSION} FROM (
    SELECT window_start AS hour, campaign_id,
        arraySlice(arraySort(x -> (-toInt64(x.3), x.1),
                             groupArray((media_id, creator_id, {_INTERACTIONS}))),
                   1, {POSTS_PER_HOUR}) AS top
    FROM media_windows FINAL WHERE window_seconds = {HOUR_S} AND {media_hours}
    GROUP BY hour, campaign_id
) ARRAY JOIN top AS p, arrayEnumerate(top) AS place"""


def _hours(hours: list[int]) -> tuple[str, str]:
    """Conditions on ``hour`` and on ``window_start`` selecting these hours and the blocks
    they are in (the tables' keys lead with the block)."""
    listed = ", ".join(f"toDateTime({h}, 'UTC')" for h in hours)
    blocks = ", ".join(f"toDateTime({b}, 'UTC')" for b in sorted({h - h % BLOCK_S
                                                                   for h in hours}))
    return (f"bucket IN ({blocks}) AND hour IN ({listed})",
            f"bucket IN ({blocks}) AND window_start IN ({listed})")


def refresh_statements(window_hours_s: Iterable[int], snapshot_ms: Iterable[int]) -> list[str]:
    """Recompute what a flush may have changed: the hours of the hourly rows it wrote, and
    the 24 hours from each snapshot's hour (those whose follower level it can be)."""
    windows = {h - h % HOUR_S for h in window_hours_s}
    levelled = set(windows)
    for hour in {ms // 1000 - ms // 1000 % HOUR_S for ms in snapshot_ms}:
        levelled.update(range(hour, hour + DAY_S, HOUR_S))
    ordered = sorted(levelled)
    statements = []
    # a replay's flush can touch months: a few days per statement keeps each one short
    # (the server refuses queries over 256 KiB) and its follower levels to those days
    for i in range(0, len(ordered), HOURS_PER_STATEMENT):
        chosen = ordered[i:i + HOURS_PER_STATEMENT]
        hours, media_hours = _hours(chosen)
        first, last = chosen[0] - (DAY_S - HOUR_S), chosen[-1]
        levels = (f"bucket >= toDateTime({first - first % BLOCK_S}, 'UTC') "
                  f"AND bucket <= toDateTime({last}, 'UTC') AND hour >= toDateTime({first}, "
                  f"'UTC') AND hour <= toDateTime({last}, 'UTC')")
        statements += [_creator_hours(media_hours, levels), _campaign_hours(hours, media_hours)]
        posts = [h for h in chosen if h in windows]
        if posts:
            statements.append(_post_hour_tops(_hours(posts)[1]))
    return statements


#: every hour of the source tables at once (``migrate``, the read bench's filler)
BACKFILL = (_creator_hours("1", "1"), _campaign_hours("1", "1"), _post_hour_tops("1"))
