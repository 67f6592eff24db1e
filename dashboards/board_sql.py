"""SQL the campaign board's panels share: the range, the variables, follower levels, the
top posts.

Ranges. Hourly panels read whole hours that overlap the range, so the hour that began
before ``$__fromTime`` is in (no dip at the end of a one-hour view). Every table is keyed
by six-hour block first, so each query also names the blocks it needs (``bucket``):
ClickHouse cannot derive them from a condition on the time column alone.

Variables. "All" is the custom all value ``''`` (Grafana inserts it as written), so "All"
costs nothing instead of listing every creator in the query; no campaign or creator id is
empty (organic content's campaign_id is, and the board calls it ``organic``).

Followers. A creator's follower level at an hour is the latest snapshot observed in the
24 hours before the hour ended. With "All" creators the engagement panels read the hourly
rollups that carry it already (``creator_hours``, ``campaign_hours``, ``post_hour_tops``:
sinks/hour_rollups.py); with chosen creators, their rows joined to ``follower_hours`` (one
row per creator and hour) over the range and the day before it only.
"""

# ruff: noqa: S608 - SQL built from this module's constants only; Grafana fills the variables

from __future__ import annotations

from campaignpulse.sinks.schema import BUCKET_HOURS

#: the custom all value of the board's variables
ALL = "''"
CAMPAIGN_VALUES = "${campaign:singlequote}"
CREATOR_VALUES = "${creator:singlequote}"
#: organic content has campaign_id ''; the board calls it "organic"
CAMPAIGN = "if(campaign_id = '', 'organic', campaign_id)"
#: rows of the chosen campaigns (written so the key on campaign_id prunes)
CAMPAIGNS = (f"({ALL} IN ({CAMPAIGN_VALUES}) OR campaign_id IN ({CAMPAIGN_VALUES}) "
             f"OR (campaign_id = '' AND 'organic' IN ({CAMPAIGN_VALUES})))")
CREATORS = f"({ALL} IN ({CREATOR_VALUES}) OR creator_id IN ({CREATOR_VALUES}))"
#: "All" creators: the panels read the per-campaign sums (``campaign_hours``)
ALL_CREATORS = f"{ALL} IN ({CREATOR_VALUES})"
#: rows of the chosen creators only; constant false with "All", so such a read costs nothing
CHOSEN_CREATORS = f"NOT {ALL_CREATORS} AND creator_id IN ({CREATOR_VALUES})"
#: the hour that began before the range
FIRST_HOUR = "toStartOfHour($__fromTime)"


def hours(column: str = "window_start", first: str = FIRST_HOUR) -> str:
    """Hourly rows overlapping the range, with the six-hour blocks they are in."""
    return (f"bucket >= {first} - INTERVAL {BUCKET_HOURS} HOUR AND bucket <= $__toTime "
            f"AND {column} >= {first} AND {column} <= $__toTime")


#: creators with rows in the chosen campaigns (for tables without a campaign column); with
#: "All" the subquery's condition is constant false, so it reads nothing
CAMPAIGN_CREATORS = (
    f"({ALL} IN ({CAMPAIGN_VALUES}) OR creator_id IN (SELECT creator_id FROM creator_windows "
    f"WHERE NOT {ALL} IN ({CAMPAIGN_VALUES}) AND window_seconds = 3600 AND {hours()} "
    f"AND {CAMPAIGNS}))"
)


#: how many series a top-N panel draws (besides "other")
TOP_N = 20


def interactions_per_hour(table: str, *keys: str, final: str = " FINAL",
                          where: str = "", creators: str = CREATORS) -> str:
    """Rows of the chosen campaigns and creators, per hour. FINAL: the current row of each
    grain (a later version replaces the earlier)."""
    return (f"SELECT window_start AS hour, {', '.join(keys)}, "
            "toUInt64(likes + comments + saves + shares) AS interactions "
            f"FROM {table}{final} WHERE window_seconds = 3600 AND {hours()} "
            f"AND {CAMPAIGNS} AND {creators}{where}")


ROLLUP_HOURS = interactions_per_hour("creator_windows", "campaign_id", "creator_id")
_POST = ("campaign_id", "creator_id", "media_id")
#: the TOP_N posts by their busiest hour in the range: with "All" among each campaign
#: hour's busiest (``post_hour_tops``), else among the chosen creators' posts. A superseded
#: row never counts more than the current one, so no FINAL is needed; the key prunes the
#: rows that follow. (A post has one creator and campaign: grouping by media_id alone
#: hashes one string.)
_TOP_POSTS = (
    "SELECT any(campaign_id) AS campaign_id, any(creator_id) AS creator_id, media_id FROM ("
    "SELECT campaign_id, creator_id, media_id, interactions FROM post_hour_tops FINAL "
    f"WHERE {ALL_CREATORS} AND {hours('hour')} AND {CAMPAIGNS} UNION ALL "
    "SELECT campaign_id, creator_id, media_id, interactions FROM "
    f"({interactions_per_hour('media_windows', *_POST, final='', creators=CHOSEN_CREATORS)})) "
    f"GROUP BY media_id ORDER BY max(interactions) DESC, media_id LIMIT {TOP_N}"
)
#: the TOP_N posts as one constant (a scalar subquery runs once, and the key can use a
#: constant where it cannot use ``IN (subquery)``): an array of (creator_id, media_id)
_TOP_POST_IDS = f"(SELECT groupArray((creator_id, media_id)) FROM ({_TOP_POSTS}))"
#: their hours: the current row of each is the one with the highest version
_TOP_POST_HOURS = (
    "SELECT window_start AS hour, creator_id, media_id, "
    "toUInt64(argMax(likes + comments + saves + shares, version)) AS interactions "
    f"FROM media_windows WHERE window_seconds = 3600 AND {hours()} AND {CAMPAIGNS} "
    f"AND {CREATORS} AND has(arrayMap(p -> p.2, {_TOP_POST_IDS}), media_id) "
    "GROUP BY hour, creator_id, media_id"
)


def levels(creators: str = CREATORS) -> str:
    """Follower levels of the range's hours and the 23 before the first."""
    return ("SELECT creator_id, hour AS level_hour, followers FROM follower_hours FINAL "
            f"WHERE {hours('hour', f'{FIRST_HOUR} - INTERVAL 23 HOUR')} AND {creators}")


def with_followers(rows: str, creators: str = CREATORS) -> str:
    """``rows`` (with ``hour`` and ``creator_id``) and the creator's follower level at that
    hour as ``followers`` (0 when none was observed in the 24 hours before it ended); levels
    of ``creators`` only (those ``rows`` can have)."""
    return (f"SELECT e.*, if(e.hour - f.level_hour < 86400, f.followers, 0) AS followers "
            f"FROM ({rows}) AS e ASOF LEFT JOIN ({levels(creators)}) AS f "
            "ON e.creator_id = f.creator_id AND e.hour >= f.level_hour")


#: the chosen creators' rollup hours with their follower levels (nothing with "All")
_CHOSEN_ROLLUPS = with_followers(
    interactions_per_hour("creator_windows", "campaign_id", "creator_id",
                          creators=CHOSEN_CREATORS), CHOSEN_CREATORS)
#: per hour (``hour``) and campaign of the chosen campaigns and creators: interactions and
#: followers of creator hours with a known follower level (``i``, ``f``). With "All" from
#: ``campaign_hours``, else from the chosen creators' rollups.
CAMPAIGN_HOURS = (
    "SELECT hour, campaign_id, followed_interactions AS i, followers AS f "
    f"FROM campaign_hours FINAL WHERE {ALL_CREATORS} AND {hours('hour')} AND {CAMPAIGNS} "
    "UNION ALL SELECT hour, campaign_id, if(followers > 0, interactions, 0), "
    "if(followers > 0, followers, 0) FROM ("
    + _CHOSEN_ROLLUPS + ")"
)


#: interactions / followers, over rows whose follower count is known
RATE = "sumIf(interactions, followers > 0) / nullIf(sumIf(followers, followers > 0), 0)"

#: the TOP_N posts' hours with their creator's follower level (levels of their creators)
TOP_POST_ROWS = with_followers(
    _TOP_POST_HOURS,
    f"{CREATORS} AND has(arrayMap(p -> p.1, {_TOP_POST_IDS}), creator_id)")
#: creator hours of the chosen campaigns and creators with their follower level: with
#: "All" from ``creator_hours``, else the chosen creators' rollups joined to their levels
CREATOR_HOURS = (
    "SELECT hour, creator_id, interactions, followers FROM creator_hours FINAL "
    f"WHERE {ALL_CREATORS} AND {hours('hour')} AND {CAMPAIGNS} UNION ALL "
    "SELECT hour, creator_id, interactions, followers FROM ("
    + _CHOSEN_ROLLUPS + ")"
)
