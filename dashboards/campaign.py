"""The campaign managers' board: engagement by campaign, creator and post, top creators,
followers with spike alerts, campaign KPIs, contests and disclosure alerts.

Each panel is a :class:`SqlPanel`; the SQL shared by several panels (the range, the
variables, follower levels, top-N) is in ``board_sql.py``, the KPI, contest and
disclosure panels in ``campaign_kpis.py``. The tests run every panel on seeded data and
compare them with a recount of the raw events.
"""

# ruff: noqa: S608 - SQL built from this module's constants only; Grafana fills the variables

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as board

from campaignpulse.dashboards import authenticity
from campaignpulse.dashboards.board_sql import (
    ALL,
    ALL_CREATORS,
    CAMPAIGN,
    CAMPAIGN_CREATORS,
    CAMPAIGN_HOURS,
    CAMPAIGN_VALUES,
    CAMPAIGNS,
    CHOSEN_CREATORS,
    CREATOR_HOURS,
    CREATORS,
    RATE,
    ROLLUP_HOURS,
    TOP_N,
    TOP_POST_ROWS,
    hours,
)
from campaignpulse.dashboards.campaign_kpis import KPI_PANELS
from campaignpulse.dashboards.clickhouse import DATASOURCE, AnnotationTarget
from campaignpulse.dashboards.panels import SqlPanel, build_panel
from campaignpulse.dashboards.variables import multi_value

UID = "campaignpulse-campaigns"

#: from the hourly rollups (a version more or less names the same campaign or creator)
CAMPAIGN_VALUES_SQL = (
    f"SELECT DISTINCT {CAMPAIGN} AS campaign FROM campaign_hours WHERE {hours('hour')} "
    "ORDER BY campaign"
)
CREATOR_VALUES_SQL = (
    f"SELECT DISTINCT creator_id FROM creator_hours WHERE {hours('hour')} AND {CAMPAIGNS} "
    "ORDER BY creator_id"
)

#: alerts of the chosen campaigns (an alert names its creator's campaigns) and creators
_ALERTS_CHOSEN = (
    f"({ALL} IN ({CAMPAIGN_VALUES}) OR hasAny(campaign_ids, [{CAMPAIGN_VALUES}]) "
    f"OR (empty(campaign_ids) AND 'organic' IN ({CAMPAIGN_VALUES}))) AND {CREATORS}"
)
#: a spike overlaps the range: started before its end, and still firing or ended inside it
SPIKES_IN_RANGE = (
    "started_at <= $__toTime AND (status = 'firing' OR ended_at >= $__fromTime) "
    f"AND {_ALERTS_CHOSEN}"
)
SPIKE_ANNOTATIONS_SQL = (
    "SELECT started_at AS time, if(status = 'firing', now(), ended_at) AS timeEnd, "
    "concat(severity, ' follower spike, ', creator_id, ': +', toString(observed_growth), "
    "' (expected ', toString(round(expected_growth)), '); ', "
    "arrayStringConcat(reasons, ', '), if(empty(innocent_causes), '', "
    "concat('; innocent: ', arrayStringConcat(innocent_causes, ', ')))) AS text, "
    "[severity, status] AS tags "
    f"FROM follower_spike_alerts FINAL WHERE {SPIKES_IN_RANGE} ORDER BY time"
)

_FOLLOWER_HOURS = (f"SELECT creator_id, hour, followers FROM follower_hours FINAL "
                   f"WHERE {hours('hour')} AND {CREATORS} AND {CAMPAIGN_CREATORS}")
#: the TOP_N creators by follower growth over the range (latest minus earliest level)
_TOP_GROWTH = (
    "(SELECT groupArray(creator_id) FROM (SELECT creator_id, toInt64(argMax(followers, hour)) "
    f"- toInt64(argMin(followers, hour)) AS growth FROM ({_FOLLOWER_HOURS}) "
    f"GROUP BY creator_id ORDER BY growth DESC, creator_id LIMIT {TOP_N}))"
)
_LATEST_FOLLOWERS = (
    "SELECT creator_id, argMax(followers, hour) AS followers FROM follower_hours FINAL "
    f"WHERE {hours('hour', 'toStartOfHour($__toTime) - INTERVAL 23 HOUR')} AND {CREATORS} "
    "GROUP BY creator_id"
)
_OTHER = f"the top {TOP_N} in the range, the rest as \"other\""


def _rate_per_hour(by: str, sql: str, description: str) -> SqlPanel:
    """An hourly engagement-rate panel with one series per ``by`` (a column of ``sql``)."""
    return SqlPanel(f"Engagement rate per hour by {by}", sql, ("time", by, "engagement_rate"),
                    unit="percentunit", legend=f"${{__field.labels.{by}}}", min_interval="1h",
                    description=description)


PANELS: list[SqlPanel] = [
    _rate_per_hour(
        "campaign",
        f"SELECT $__timeInterval(hour) AS time, {CAMPAIGN} AS campaign, "
        f"sum(i) / nullIf(sum(f), 0) AS engagement_rate FROM ({CAMPAIGN_HOURS}) "
        "GROUP BY time, campaign ORDER BY time",
        "Interactions (likes, comments, saves, shares) per hour ÷ the creators' follower "
        "counts (the latest observed in the 24 hours before each hour ended); longer buckets "
        "average the hours in them.",
    ),
    _rate_per_hour(
        "creator",
        # one read: per creator and bucket, each creator's series in one row, then the
        # creators ranked in one sorted array (no window function: servers before 21.x
        # have none, and ranking 1,000 arrays is cheaper than a window over every row)
        f"SELECT s.1 AS time, if(place <= {TOP_N}, c.2, 'other') AS creator, "
        "sum(s.2) / nullIf(sum(s.3), 0) AS engagement_rate FROM ("
        "SELECT arrayJoin(arrayEnumerate(ranked)) AS place, ranked[place] AS c FROM ("
        "SELECT arraySort(x -> (-toInt64(x.1), x.2), groupArray((total, creator_id, series))) "
        "AS ranked FROM (SELECT creator_id, groupArray((time, i, f)) AS series, sum(t) AS total "
        "FROM (SELECT $__timeInterval(hour) AS time, creator_id, "
        "sumIf(interactions, followers > 0) AS i, sumIf(followers, followers > 0) AS f, "
        f"sum(interactions) AS t FROM ({CREATOR_HOURS}) GROUP BY time, creator_id) "
        "GROUP BY creator_id))) ARRAY JOIN c.3 AS s GROUP BY time, creator ORDER BY time",
        f"Creators by interactions: {_OTHER} (their interactions ÷ their followers).",
    ),
    _rate_per_hour(
        "post",
        f"SELECT $__timeInterval(hour) AS time, media_id AS post, {RATE} AS engagement_rate "
        f"FROM ({TOP_POST_ROWS}) GROUP BY time, post ORDER BY time",
        f"The {TOP_N} posts with the busiest hour in the range: each post's interactions ÷ "
        "its creator's followers.",
    ),
    SqlPanel(
        "Engagement rate by reach, stories and reels",
        "SELECT $__timeInterval(hour) AS time, sum(i) / nullIf(sum(r), 0) "
        "AS engagement_rate_by_reach FROM (SELECT hour, reach_interactions AS i, reach AS r "
        f"FROM campaign_hours FINAL WHERE {ALL_CREATORS} AND {hours('hour')} AND {CAMPAIGNS} "
        "UNION ALL SELECT window_start, toUInt64(likes + comments + saves + shares), "
        "toUInt64(reach) FROM media_windows FINAL WHERE window_seconds = 3600 "
        f"AND {hours()} AND {CAMPAIGNS} AND {CHOSEN_CREATORS} AND media_id IN "
        "(SELECT media_id FROM media WHERE media_product_type IN ('STORY', 'REELS') "
        f"AND {CHOSEN_CREATORS})) GROUP BY time HAVING sum(r) > 0 ORDER BY time",
        ("time", "engagement_rate_by_reach"),
        unit="percentunit", min_interval="1h",
        description="Interactions ÷ people reached (story viewers, reel players), stories "
                    "and reels only: feed posts have no reach and are left out.",
    ),
    SqlPanel(
        "Top creators by engagement rate in the range",
        "SELECT e.creator_id AS creator_id, e.interactions AS interactions, "
        "f.followers AS latest_followers, e.interactions / f.followers AS engagement_rate "
        f"FROM (SELECT creator_id, sum(interactions) AS interactions FROM ({ROLLUP_HOURS}) "
        f"GROUP BY creator_id) AS e INNER JOIN ({_LATEST_FOLLOWERS}) AS f "
        "ON e.creator_id = f.creator_id WHERE f.followers > 0 "
        f"ORDER BY engagement_rate DESC, creator_id LIMIT {TOP_N}",
        ("creator_id", "interactions", "latest_followers", "engagement_rate"),
        kind="table", unit="short",
        description="Interactions in the hours the range overlaps ÷ the latest follower "
                    "count observed by the end of its last hour (within 24 hours).",
    ),
    SqlPanel(
        "Followers per creator",
        f"SELECT $__timeInterval(hour) AS time, if(has({_TOP_GROWTH}, creator_id), creator_id, "
        "'other') AS creator, sum(followers) / uniqExact(hour) AS followers "
        f"FROM ({_FOLLOWER_HOURS}) GROUP BY time, creator ORDER BY time",
        ("time", "creator", "followers"),
        legend="${__field.labels.creator}", min_interval="1h",
        description=f"Each hour's latest count (longer buckets: the average of their hours). "
                    f"Creators by follower growth: {_OTHER} (their followers summed). Spike "
                    "alerts are the red regions.",
    ),
    SqlPanel(
        "Follower spikes overlapping the range (current state)",
        "SELECT started_at, creator_id, status, severity, observed_growth, "
        "round(expected_growth) AS expected_growth, "
        "arrayStringConcat(reasons, ', ') AS reasons, "
        "arrayStringConcat(innocent_causes, ', ') AS innocent_causes, "
        "arrayStringConcat(campaign_ids, ', ') AS campaigns FROM follower_spike_alerts FINAL "
        f"WHERE {SPIKES_IN_RANGE} ORDER BY status = 'firing' DESC, started_at DESC LIMIT 50",
        ("started_at", "creator_id", "status", "severity", "observed_growth", "reasons"),
        kind="table", width=24,
    ),
]


def all_panels() -> list[SqlPanel]:
    return [*PANELS, *KPI_PANELS]


def build() -> board.Dashboard:
    builder = (
        board.Dashboard("campaignpulse — campaigns")
        .uid(UID)
        .tags(["campaignpulse"])
        .time("now-24h", "now")
        .refresh("30s")
        .timezone("browser")
        .with_variable(multi_value("campaign", "Campaign", DATASOURCE, CAMPAIGN_VALUES_SQL,
                                   ALL))
        .with_variable(multi_value("creator", "Creator", DATASOURCE, CREATOR_VALUES_SQL, ALL))
        .annotation(
            board.AnnotationQuery()
            .name("Follower spikes")
            .datasource(DATASOURCE)
            .enable(True)
            .icon_color("red")
            .target(AnnotationTarget(SPIKE_ANNOTATIONS_SQL))
        )
    )
    for i, spec in enumerate(all_panels(), start=1):
        builder = builder.with_panel(build_panel(spec, i))
    return authenticity.add_to(builder, len(all_panels()) + 1, UID)
