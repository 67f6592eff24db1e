"""The campaign managers' board: engagement by campaign, creator and post, top creators,
followers with spike alerts, on the ClickHouse read model.

The contest/KPI work adds its panels by appending :class:`SqlPanel` entries to
``KPI_PANELS`` (tables ``campaign_kpis_hour``, ``contest_performance`` ...); the tests then
run them like every other panel.
"""

# ruff: noqa: S608 - SQL built from this module's constants only; Grafana fills the variables

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.models import dashboard

from campaignpulse.dashboards.clickhouse import DATASOURCE, AnnotationTarget
from campaignpulse.dashboards.panels import SqlPanel, build_panel

UID = "campaignpulse-campaigns"

#: organic content has campaign_id ''; the board calls it "organic"
CAMPAIGN = "if(campaign_id = '', 'organic', campaign_id)"
FILTERS = (
    f"{CAMPAIGN} IN (${{campaign:singlequote}}) AND creator_id IN (${{creator:singlequote}})"
)
#: interactions / followers, over rows whose follower count is known
RATE = "sumIf(interactions, followers > 0) / nullIf(sumIf(followers, followers > 0), 0)"

CAMPAIGN_VALUES_SQL = (
    f"SELECT DISTINCT {CAMPAIGN} AS campaign FROM engagement_windows "
    "WHERE window_seconds = 3600 AND $__timeFilter(window_start) ORDER BY campaign"
)
CREATOR_VALUES_SQL = (
    "SELECT DISTINCT creator_id FROM engagement_windows WHERE window_seconds = 3600 "
    f"AND media_id = '' AND {CAMPAIGN} IN (${{campaign:singlequote}}) "
    "AND $__timeFilter(window_start) ORDER BY creator_id"
)

#: a spike overlaps the range: started before its end, and still firing or ended inside it
SPIKES_IN_RANGE = (
    "started_at <= $__toTime AND (status = 'firing' OR ended_at >= $__fromTime) "
    "AND creator_id IN (${creator:singlequote})"
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

PANELS: list[SqlPanel] = [
    SqlPanel(
        "Engagement rate per hour by campaign",
        f"SELECT $__timeInterval(window_start) AS time, {CAMPAIGN} AS campaign, "
        f"{RATE} AS engagement_rate FROM engagement_hour "
        f"WHERE media_id = '' AND $__timeFilter(window_start) AND {FILTERS} "
        "GROUP BY time, campaign ORDER BY time",
        ("time", "campaign", "engagement_rate"),
        unit="percentunit", legend="${__field.labels.campaign}", min_interval="1h",
        description="Interactions (likes, comments, saves, shares) per hour ÷ the creators' "
                    "latest follower counts; longer buckets average the hours in them.",
    ),
    SqlPanel(
        "Engagement rate per hour by creator",
        f"SELECT $__timeInterval(window_start) AS time, creator_id, {RATE} AS engagement_rate "
        f"FROM engagement_hour WHERE media_id = '' AND $__timeFilter(window_start) "
        f"AND {FILTERS} GROUP BY time, creator_id ORDER BY time",
        ("time", "creator_id", "engagement_rate"),
        unit="percentunit", legend="${__field.labels.creator_id}", min_interval="1h",
    ),
    SqlPanel(
        "Engagement rate per hour by post",
        f"SELECT $__timeInterval(window_start) AS time, media_id AS post, {RATE} "
        "AS engagement_rate FROM engagement_hour WHERE media_id != '' "
        f"AND $__timeFilter(window_start) AND {FILTERS} GROUP BY time, post ORDER BY time",
        ("time", "post", "engagement_rate"),
        unit="percentunit", legend="${__field.labels.post}", min_interval="1h",
    ),
    SqlPanel(
        "Engagement rate by reach, stories and reels",
        "SELECT $__timeInterval(window_start) AS time, "
        "sum(interactions) / nullIf(sum(reach), 0) AS engagement_rate_by_reach "
        "FROM engagement_hour WHERE media_id IN (SELECT media_id FROM media "
        "WHERE media_product_type IN ('STORY', 'REELS')) "
        f"AND $__timeFilter(window_start) AND {FILTERS} GROUP BY time ORDER BY time",
        ("time", "engagement_rate_by_reach"),
        unit="percentunit", min_interval="1h",
        description="Interactions ÷ people reached (story viewers, reel players), stories "
                    "and reels only: feed posts have no reach and are left out.",
    ),
    SqlPanel(
        "Top creators by engagement rate in the range",
        "SELECT e.creator_id AS creator_id, e.interactions AS interactions, "
        "f.followers AS latest_followers, "
        "e.interactions / f.followers AS engagement_rate FROM ("
        "SELECT creator_id, sum(interactions) AS interactions FROM engagement_hour "
        f"WHERE media_id = '' AND $__timeFilter(window_start) AND {FILTERS} "
        "GROUP BY creator_id) AS e INNER JOIN ("
        "SELECT creator_id, argMax(followers_count, observed_at_ms) AS followers "
        "FROM follower_snapshots FINAL WHERE observed_at <= $__toTime "
        "GROUP BY creator_id) AS f ON e.creator_id = f.creator_id "
        "WHERE f.followers > 0 ORDER BY engagement_rate DESC LIMIT 20",
        ("creator_id", "interactions", "latest_followers", "engagement_rate"),
        kind="table", unit="short",
        description="Interactions in the selected range ÷ the latest follower count "
                    "observed by the end of the range.",
    ),
    SqlPanel(
        "Followers per creator",
        "SELECT $__timeInterval(observed_at) AS time, creator_id, "
        "argMax(followers_count, observed_at_ms) AS followers FROM follower_snapshots FINAL "
        "WHERE $__timeFilter(observed_at) AND creator_id IN (${creator:singlequote}) "
        "GROUP BY time, creator_id ORDER BY time",
        ("time", "creator_id", "followers"),
        legend="${__field.labels.creator_id}",
        description="Latest count per bucket; spike alerts are the red regions.",
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

#: campaign KPI and contest panels go here once their tables are in the read model
KPI_PANELS: list[SqlPanel] = []


def all_panels() -> list[SqlPanel]:
    return [*PANELS, *KPI_PANELS]


def _variable(name: str, label: str, sql: str) -> board.QueryVariable:
    return (
        board.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(sql)
        .multi(True)
        .include_all(True)
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
        .current(dashboard.VariableOption(text="All", value="$__all", selected=True))
    )


def build() -> board.Dashboard:
    builder = (
        board.Dashboard("campaignpulse — campaigns")
        .uid(UID)
        .tags(["campaignpulse"])
        .time("now-24h", "now")
        .refresh("30s")
        .timezone("browser")
        .with_variable(_variable("campaign", "Campaign", CAMPAIGN_VALUES_SQL))
        .with_variable(_variable("creator", "Creator", CREATOR_VALUES_SQL))
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
    return builder
