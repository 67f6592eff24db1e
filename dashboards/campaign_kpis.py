"""The campaign board's KPI, contest and disclosure panels.

KPIs are summed from the hourly KPI rows of the chosen campaigns and creators in the range
(``campaign_kpi_hours``), and to date from ``campaign_kpi_to_date``; ratios are taken from
the summed cents exactly as the ``campaign_kpis`` view and Python do (``kpi_ratios``).
"""

# ruff: noqa: S608 - SQL built from this module's constants only; Grafana fills the variables

from __future__ import annotations

from campaignpulse.dashboards.board_sql import ALL, CAMPAIGNS, CREATOR_VALUES, CREATORS, hours
from campaignpulse.dashboards.panels import SqlPanel
from campaignpulse.sinks.schema_campaigns import INVALID_COLUMNS, kpi_ratios

_RATIOS = kpi_ratios("emv_cents", "cost_cents", "interactions", "reach")
_KPI_COLUMNS = ("campaign", "interactions", "reach", "emv", "cost", "cpe", "cpm", "roi")
_SUMS = ("sum(interactions) AS interactions, sum(reach) AS reach, "
         "sum(emv_cents) AS emv_cents")
_CONTESTS_IN_RANGE = "starts_at <= $__toTime AND ends_at >= $__fromTime"


def _listed(pairs: list[tuple[str, str]]) -> str:
    """``'label n, label n'`` for the non-zero counts among ``(label, column)``."""
    parts = ", ".join(f"if({column} > 0, concat('{label} ', toString({column})), '')"
                      for label, column in pairs)
    return f"arrayStringConcat(arrayFilter(x -> x != '', [{parts}]), ', ')"


_INVALID = " + ".join(INVALID_COLUMNS)
_REASONS = _listed([(c.replace("_", " "), c) for c in INVALID_COLUMNS])
_SUSPICIOUS = _listed([("same text", "identical_text_entries"),
                       ("mention magnets", "mention_magnets"), ("in bursts", "burst_entries"),
                       ("new accounts", "new_entrants")])
#: each contest's creator's follower count at its start (snapshots of those creators only)
_CONTEST_FOLLOWERS = (
    "SELECT creator_id, observed_at_ms, followers_count FROM follower_snapshots "
    "WHERE creator_id IN (SELECT creator_id FROM contest_performance "
    f"WHERE {_CONTESTS_IN_RANGE} AND {CAMPAIGNS} AND {CREATORS})"
)

KPI_PANELS: list[SqlPanel] = [
    SqlPanel(
        "Campaign KPIs in the range",
        f"SELECT campaign, interactions, reach{_RATIOS} FROM (SELECT campaign_id AS campaign, "
        f"{_SUMS}, sum(cost_cents) AS cost_cents FROM campaign_kpi_hours FINAL "
        f"WHERE {hours()} AND {CAMPAIGNS} AND {CREATORS} GROUP BY campaign) "
        "ORDER BY emv DESC, campaign",
        _KPI_COLUMNS, kind="table",
        description="Hours the range overlaps: EMV, cost (the fee pro-rated to those hours), "
                    "CPE = cost ÷ interactions, CPM = cost × 1000 ÷ reach, ROI = EMV ÷ cost; "
                    "reach is summed over creators and hours. Money in each campaign's "
                    "currency.",
    ),
    SqlPanel(
        "Campaign KPIs to date",
        f"SELECT campaign, interactions, reach{_RATIOS} FROM (SELECT k.campaign_id AS campaign, "
        f"{_SUMS}, if({ALL} IN ({CREATOR_VALUES}), any(c.total_fee_cents), sum(k.cost_cents)) "
        "AS cost_cents FROM (SELECT * FROM campaign_kpi_to_date FINAL "
        f"WHERE {CAMPAIGNS} AND {CREATORS}) AS k INNER JOIN (SELECT campaign_id, "
        "total_fee_cents FROM campaigns FINAL WHERE deleted = 0 AND starts_at <= $__toTime "
        "AND ends_at >= $__fromTime) AS c ON k.campaign_id = c.campaign_id GROUP BY campaign) "
        "ORDER BY roi DESC, campaign",
        _KPI_COLUMNS, kind="table",
        description="Campaigns running in the range, from their start: the cost is the whole "
                    "fee of every listed creator (of the chosen creators' when some are "
                    "chosen).",
    ),
    SqlPanel(
        "EMV per hour by campaign",
        "SELECT $__timeInterval(window_start) AS time, campaign_id AS campaign, "
        "sum(emv_cents) / 100 AS emv FROM campaign_kpi_hours FINAL "
        f"WHERE {hours()} AND {CAMPAIGNS} AND {CREATORS} GROUP BY time, campaign ORDER BY time",
        ("time", "campaign", "emv"),
        legend="${__field.labels.campaign}", min_interval="1h",
        description="Earned media value per hour, in each campaign's currency.",
    ),
    SqlPanel(
        "Valid contest entries per hour",
        "SELECT $__timeInterval(minute_start) AS time, contest_id AS contest, "
        "sum(valid_entries) AS valid_entries FROM contest_entries_minute FINAL "
        "WHERE $__timeFilter(minute_start) AND contest_id IN (SELECT contest_id "
        f"FROM contest_performance WHERE {_CONTESTS_IN_RANGE} AND {CAMPAIGNS} AND {CREATORS}) "
        "GROUP BY time, contest ORDER BY time",
        ("time", "contest", "valid_entries"),
        legend="${__field.labels.contest}", min_interval="1m",
    ),
    SqlPanel(
        "Contests in the range",
        "SELECT c.contest_id AS contest_id, c.creator_id AS creator_id, "
        "c.campaign_id AS campaign, if(c.final, 'final', 'live') AS state, "
        "c.entries AS entries, c.valid_entries AS valid_entries, "
        f"c.provisional_entries AS provisional_entries, {_INVALID} AS invalid_entries, "
        f"{_REASONS} AS invalid_reasons, c.unique_entrants AS unique_entrants, "
        "if(f.followers_count > 0, c.unique_entrants / f.followers_count, NULL) AS entry_rate, "
        "c.cost_per_valid_entry_cents / 100 AS cost_per_valid_entry, "
        f"{_SUSPICIOUS} AS suspicious FROM (SELECT *, "
        "toUInt64(toUnixTimestamp(starts_at)) * 1000 AS start_ms FROM contest_performance FINAL "
        f"WHERE {_CONTESTS_IN_RANGE} AND {CAMPAIGNS} AND {CREATORS}) AS c "
        f"ASOF LEFT JOIN ({_CONTEST_FOLLOWERS}) AS f "
        "ON c.creator_id = f.creator_id AND c.start_ms >= f.observed_at_ms "
        "ORDER BY c.final, c.starts_at DESC, contest_id LIMIT 50",
        ("contest_id", "state", "valid_entries", "invalid_reasons", "entry_rate", "suspicious"),
        kind="table", width=24,
        description="Contests that overlap the range. Entry rate: unique entrants ÷ the "
                    "creator's followers at the contest's start. Suspicious: entries with "
                    "another account's text, accounts mentioned by 10+ entrants, entries in "
                    "bursts, entrants new to the creator.",
    ),
    SqlPanel(
        "Sponsored posts without disclosure",
        "SELECT published_at, campaign_id AS campaign, creator_id, media_id, status, "
        "if(reason = 'below_fold', 'tag below the fold', 'no #ad, no label') AS why, severity "
        "FROM disclosure_alerts FINAL WHERE published_at <= $__toTime "
        f"AND (status = 'firing' OR published_at >= $__fromTime) AND {CAMPAIGNS} "
        f"AND {CREATORS} ORDER BY status = 'firing' DESC, published_at DESC, media_id LIMIT 50",
        ("published_at", "campaign", "creator_id", "media_id", "status", "why"),
        kind="table", width=24,
        description="Posts published in the range whose campaign requires disclosure, and "
                    "every one still firing (an edit that adds the tag resolves it).",
    ),
]
