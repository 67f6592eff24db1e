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
24 hours before the hour ended, from ``follower_hours`` (one row per creator and hour),
joined over the range and the day before it only.
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
                          where: str = "") -> str:
    """Rows of the chosen campaigns and creators, per hour. FINAL: the current row of each
    grain (a later version replaces the earlier)."""
    return (f"SELECT window_start AS hour, {', '.join(keys)}, "
            "toUInt64(likes + comments + saves + shares) AS interactions "
            f"FROM {table}{final} WHERE window_seconds = 3600 AND {hours()} "
            f"AND {CAMPAIGNS} AND {CREATORS}{where}")


ROLLUP_HOURS = interactions_per_hour("creator_windows", "campaign_id", "creator_id")
_POST = ("campaign_id", "creator_id", "media_id")
#: the TOP_N posts by their busiest hour in the range. A superseded row never counts more
#: than the current one, so no FINAL is needed; the key prunes the rows that follow. (A
#: post has one creator and campaign: grouping by media_id alone hashes one string.)
_TOP_POSTS = (
    "SELECT any(campaign_id), any(creator_id), media_id FROM "
    f"({interactions_per_hour('media_windows', *_POST, final='')}) "
    f"GROUP BY media_id ORDER BY max(interactions) DESC, media_id LIMIT {TOP_N}"
)
TOP_POST_HOURS = interactions_per_hour("media_windows", *_POST,
                                       where=f" AND ({', '.join(_POST)}) IN ({_TOP_POSTS})")


#: follower levels of the range's hours and the 23 before the first
LEVELS = ("SELECT creator_id, hour AS level_hour, followers FROM follower_hours FINAL "
          f"WHERE {hours('hour', f'{FIRST_HOUR} - INTERVAL 23 HOUR')} AND {CREATORS}")


def with_followers(rows: str) -> str:
    """``rows`` (with ``hour`` and ``creator_id``) and the creator's follower level at that
    hour as ``followers`` (0 when none was observed in the 24 hours before it ended)."""
    return (f"SELECT e.*, if(e.hour - f.level_hour < 86400, f.followers, 0) AS followers "
            f"FROM ({rows}) AS e ASOF LEFT JOIN ({LEVELS}) AS f "
            "ON e.creator_id = f.creator_id AND e.hour >= f.level_hour")


#: interactions / followers, over rows whose follower count is known
RATE = "sumIf(interactions, followers > 0) / nullIf(sumIf(followers, followers > 0), 0)"
