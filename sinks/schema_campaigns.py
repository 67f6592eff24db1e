"""Warehouse tables and views for campaigns, contests and disclosure.

Base tables use only ClickHouse 18.16 features; money is integer cents (never float).
Every table is a ReplacingMergeTree whose version only grows with the set of events
behind a row, so replays and restarts converge on the same current row per grain.
The KPI views need ASOF JOIN (ClickHouse ≥ 20.1) and are created only where it exists.
"""

from __future__ import annotations

CAMPAIGN_COLUMNS = (
    "campaign_id", "brand", "name", "currency", "starts_at", "ends_at", "creators",
    "total_fee_cents", "disclosure_required", "definition", "deleted", "version",
)
KPI_COUNT_COLUMNS = ("likes", "comments", "saves", "shares", "story_views", "reel_plays")
KPI_COLUMNS = (
    "window_seconds", "window_start", "window_end", "campaign_id", "creator_id",
    *KPI_COUNT_COLUMNS, "interactions", "reach", "emv_cents", "cost_cents", "version",
)
INVALID_COLUMNS = (
    "before_start", "after_end", "own_account", "too_few_mentions", "missing_hashtag",
    "no_like", "repeat_entrant",
)
CONTEST_COLUMNS = (
    "contest_id", "creator_id", "media_id", "campaign_id", "starts_at", "ends_at",
    "prize_value_cents", "final", "entries", "valid_entries", "provisional_entries",
    *INVALID_COLUMNS, "unique_entrants", "cost_per_valid_entry_cents",
    "identical_text_entries", "mention_magnets", "burst_entries", "new_entrants", "version",
)
CONTEST_MINUTE_COLUMNS = (
    "contest_id", "minute_start", "entries", "valid_entries", "provisional_entries", "version",
)
DISCLOSURE_COLUMNS = (
    "alert_id", "campaign_id", "creator_id", "media_id", "status", "reason", "severity",
    "published_at", "version",
)

_U32 = " UInt32,\n    "


def _kpi_table(name: str, hours: bool) -> str:
    """KPI rows of one grain: hours (keyed by six-hour block first, like the engagement
    tables) or to date (one row per creator and campaign)."""
    from campaignpulse.sinks.schema import BUCKET, GRANULE

    bucket = f",\n    bucket DateTime('UTC') MATERIALIZED {BUCKET.format('window_start')}"
    layout = (f"PARTITION BY toYYYYMM(window_start)\n"
              f"ORDER BY (bucket, campaign_id, creator_id, window_start)\n"
              f"SETTINGS index_granularity = {GRANULE}" if hours
              else "ORDER BY (campaign_id, creator_id)")
    return f"""CREATE TABLE IF NOT EXISTS {name} (
    window_seconds UInt32,
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    campaign_id String,
    creator_id String,
    {_U32.join(KPI_COUNT_COLUMNS)} UInt32,
    interactions UInt64,
    reach UInt64,
    emv_cents Int64,
    cost_cents Int64,
    version UInt64{bucket if hours else ""}
) ENGINE = ReplacingMergeTree(version)
{layout}"""


TABLES = (
    """CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id String,
    brand String,
    name String,
    currency String,
    starts_at DateTime('UTC'),
    ends_at DateTime('UTC'),
    creators UInt32,
    total_fee_cents Int64,
    disclosure_required UInt8,
    definition String,
    deleted UInt8,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY campaign_id""",
    _kpi_table("campaign_kpi_hours", hours=True),
    _kpi_table("campaign_kpi_to_date", hours=False),
    f"""CREATE TABLE IF NOT EXISTS contest_performance (
    contest_id String,
    creator_id String,
    media_id String,
    campaign_id String,
    starts_at DateTime('UTC'),
    ends_at DateTime('UTC'),
    prize_value_cents Int64,
    final UInt8,
    entries UInt32,
    valid_entries UInt32,
    provisional_entries UInt32,
    {_U32.join(INVALID_COLUMNS)} UInt32,
    unique_entrants UInt32,
    cost_per_valid_entry_cents Nullable(Int64),
    identical_text_entries UInt32,
    mention_magnets UInt32,
    burst_entries UInt32,
    new_entrants UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY contest_id""",
    """CREATE TABLE IF NOT EXISTS contest_entries_minute (
    contest_id String,
    minute_start DateTime('UTC'),
    entries UInt32,
    valid_entries UInt32,
    provisional_entries UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (contest_id, minute_start)""",
    """CREATE TABLE IF NOT EXISTS disclosure_alerts (
    alert_id String,
    campaign_id String,
    creator_id String,
    media_id String,
    status String,
    reason String,
    severity String,
    published_at DateTime('UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (creator_id, alert_id)""",
)


#: window_seconds -> the table of those KPI rows
KPI_TABLES = {3600: "campaign_kpi_hours", 0: "campaign_kpi_to_date"}


def _money(cents: str) -> str:
    return f"toDecimal64({cents}, 2) / 100"


def kpi_ratios(emv: str, cost: str, interactions: str, reach: str) -> str:
    """``, emv, cost, cpe, cpm, roi`` from integer cents, rounded half up exactly as in Python
    (``streams/campaigns/kpis.py``): round(a / b) = intDiv(2a + b, 2b) for a, b ≥ 0."""
    n, r = f"toInt64({interactions})", f"toInt64({reach})"
    return f""",
    {_money(emv)} AS emv,
    {_money(cost)} AS cost,
    if({n} > 0, {_money(f"intDiv(2 * {cost} + {n}, 2 * {n})")}, NULL) AS cpe,
    if({r} > 0, {_money(f"intDiv(2000 * {cost} + {r}, 2 * {r})")}, NULL) AS cpm,
    if({cost} > 0, toDecimal64(intDiv(20000 * {emv} + {cost}, 2 * {cost}), 4) / 10000, NULL)
        AS roi"""


def _followers(seconds: int) -> str:
    """Follower levels to join: per hour for hourly rows (the latest snapshot of each hour
    before the window's end is the latest before its end); otherwise the snapshots of the
    creators with KPI rows (a re-sent snapshot is the same row: no FINAL)."""
    if seconds == 3600:
        return "SELECT creator_id, hour, followers AS followers_count FROM follower_hours FINAL"
    return ("SELECT creator_id, observed_at_ms, followers_count FROM follower_snapshots "
            "WHERE creator_id IN (SELECT creator_id FROM campaign_kpi_to_date)")


def _before_end(seconds: int) -> str:
    if seconds == 3600:
        return "k.window_start >= f.hour"
    return "k.window_end_ms > f.observed_at_ms"


def _per_creator(seconds: int) -> str:
    counts = ", ".join(f"k.{c} AS {c}" for c in KPI_COUNT_COLUMNS)
    return f"""SELECT
    k.window_start AS window_start, k.window_end AS window_end, k.campaign_id AS campaign_id,
    k.creator_id AS creator_id, {counts}, k.interactions AS interactions, k.reach AS reach,
    if(f.creator_id = '', NULL, f.followers_count) AS followers,
    k.emv_cents AS emv_cents, k.cost_cents AS cost_cents
FROM
(
    SELECT *, toUInt64(toUnixTimestamp(window_end)) * 1000 AS window_end_ms
    FROM {KPI_TABLES[seconds]} FINAL
) AS k
ASOF LEFT JOIN
({_followers(seconds)}) AS f
ON k.creator_id = f.creator_id AND {_before_end(seconds)}"""  # noqa: S608


def _kpi_view(name: str, seconds: int) -> str:
    """Creator rows, then campaign rows (``creator_id = ''``) summed from them. To date,
    a campaign's cost is the fee of every listed creator (``campaigns.total_fee_cents``)."""
    counts = ", ".join(KPI_COUNT_COLUMNS)
    sums = ", ".join(f"sum({c}) AS {c}" for c in KPI_COUNT_COLUMNS)
    rates = ("if(followers > 0, interactions / followers, NULL) AS engagement_rate,\n    "
             "if(reach > 0, interactions / reach, NULL) AS engagement_rate_by_reach")
    campaign_cost = ("any(c.total_fee_cents)" if seconds == 0 else "sum(p.cost_cents)")
    fees = ("ANY LEFT JOIN (SELECT campaign_id, total_fee_cents FROM campaigns FINAL) AS c "
            "USING campaign_id" if seconds == 0 else "")
    return f"""CREATE VIEW IF NOT EXISTS {name} AS
SELECT window_start, window_end, campaign_id, creator_id, {counts}, interactions, reach,
    followers, {rates}{kpi_ratios("emv_cents", "cost_cents", "interactions", "reach")}
FROM ({_per_creator(seconds)})
UNION ALL
SELECT window_start, window_end, campaign_id, creator_id, {counts}, interactions, reach,
    followers, {rates}{kpi_ratios("emv_cents", "cost_cents", "interactions", "reach")}
FROM
(
    SELECT p.window_start AS window_start, any(p.window_end) AS window_end,
        p.campaign_id AS campaign_id, '' AS creator_id, {sums.replace("sum(", "sum(p.")},
        sum(p.interactions) AS interactions, sum(p.reach) AS reach,
        sum(p.followers) AS followers, sum(p.emv_cents) AS emv_cents,
        {campaign_cost} AS cost_cents
    FROM ({_per_creator(seconds)}) AS p
    {fees}
    GROUP BY p.window_start, p.campaign_id
)"""  # noqa: S608


def _followers_at(inner: str, alias: str, at: str, name: str, keep: str) -> str:
    """``inner`` with the creator's latest follower count at or before ``at`` as ``name``."""
    return f"""SELECT {keep}, if({alias}.creator_id = '', NULL, {alias}.followers_count) AS {name}
FROM ({inner}) AS x
ASOF LEFT JOIN
(
    SELECT creator_id, observed_at_ms, followers_count FROM follower_snapshots
    WHERE creator_id IN (SELECT creator_id FROM contest_performance)
) AS {alias}
ON x.creator_id = {alias}.creator_id AND x.{at} >= {alias}.observed_at_ms"""  # noqa: S608


def _contest_view() -> str:
    """Follower growth around each contest, next to its entries (read-time joins, so a
    snapshot that arrives late still counts)."""
    base = """SELECT contest_id, creator_id, starts_at, ends_at, final, entries, valid_entries,
    unique_entrants, toUInt64(toUnixTimestamp(starts_at)) * 1000 AS start_ms,
    toUInt64(toUnixTimestamp(ends_at)) * 1000 AS end_ms,
    toUInt64(2 * toUnixTimestamp(starts_at) - toUnixTimestamp(ends_at)) * 1000 AS before_ms
FROM contest_performance FINAL"""
    keep = ("x.contest_id AS contest_id, x.creator_id AS creator_id, x.starts_at AS starts_at, "
            "x.ends_at AS ends_at, x.final AS final, x.entries AS entries, "
            "x.valid_entries AS valid_entries, x.unique_entrants AS unique_entrants, "
            "x.start_ms AS start_ms, x.end_ms AS end_ms, x.before_ms AS before_ms")
    at_start = _followers_at(base, "s", "start_ms", "followers_at_start", keep)
    at_end = _followers_at(at_start, "e", "end_ms", "followers_at_end",
                           keep + ", x.followers_at_start AS followers_at_start")
    before = _followers_at(at_end, "b", "before_ms", "followers_before", keep
                           + ", x.followers_at_start AS followers_at_start"
                           + ", x.followers_at_end AS followers_at_end")
    return f"""CREATE VIEW IF NOT EXISTS contest_kpis AS
SELECT contest_id, creator_id, starts_at, ends_at, final, entries, valid_entries,
    unique_entrants, followers_at_start, followers_at_end,
    toInt64(followers_at_end) - toInt64(followers_at_start) AS follower_gain,
    toInt64(followers_at_start) - toInt64(followers_before) AS baseline_gain,
    if(followers_at_start > 0, unique_entrants / followers_at_start, NULL) AS entry_rate
FROM ({before})"""  # noqa: S608


VIEWS = (
    _kpi_view("campaign_kpis_hour", 3600),
    _kpi_view("campaign_kpis", 0),
    _contest_view(),
)
