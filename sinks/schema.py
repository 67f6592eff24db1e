"""The warehouse schema: one DDL for ClickHouse servers and the embedded chdb engine.

Base tables use only what ClickHouse 18.16 already had, so old servers can still store
everything. The read-model views need ASOF JOIN and are created only where it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNT_COLUMNS = (
    "likes",
    "comments",
    "saves",
    "shares",
    "story_views",
    "story_replies",
    "story_taps_forward",
    "story_taps_back",
    "story_exits",
    "reel_plays",
)

ENGAGEMENT_COLUMNS = (
    "window_seconds",
    "window_start",
    "campaign_id",
    "creator_id",
    "media_id",
    *COUNT_COLUMNS,
    "unique_actors",
    "reach",
    "version",
)
MEDIA_COLUMNS = (
    "media_id",
    "creator_id",
    "campaign_id",
    "media_product_type",
    "published_at",
    "paid_partnership",
    "caption",
)
SNAPSHOT_COLUMNS = (
    "creator_id",
    "observed_at_ms",
    "observed_at",
    "followers_count",
    "follows_count",
)
ALERT_COLUMNS = (
    "alert_id",
    "creator_id",
    "campaign_ids",
    "status",
    "severity",
    "score",
    "started_at",
    "updated_at",
    "ended_at",
    "observed_growth",
    "expected_growth",
    "followers_count",
    "reasons",
    "innocent_causes",
    "version",
)

_COUNTS_DDL = ",\n    ".join(f"{c} UInt32" for c in COUNT_COLUMNS)

TABLES = (
    f"""CREATE TABLE IF NOT EXISTS engagement_windows (
    window_seconds UInt32,
    window_start DateTime('UTC'),
    campaign_id String,
    creator_id String,
    media_id String,
    {_COUNTS_DDL},
    unique_actors UInt32,
    reach UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY (window_seconds, toYYYYMM(window_start))
ORDER BY (window_seconds, window_start, campaign_id, creator_id, media_id)""",
    """CREATE TABLE IF NOT EXISTS follower_snapshots (
    creator_id String,
    observed_at_ms UInt64,
    observed_at DateTime('UTC'),
    followers_count UInt64,
    follows_count UInt64
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(observed_at)
ORDER BY (creator_id, observed_at_ms)""",
    """CREATE TABLE IF NOT EXISTS media (
    media_id String,
    creator_id String,
    campaign_id String,
    media_product_type String,
    published_at DateTime('UTC'),
    paid_partnership UInt8,
    caption String
) ENGINE = ReplacingMergeTree
ORDER BY (creator_id, media_id)""",
    # One current row per alert: every change of an alert is a higher version.
    """CREATE TABLE IF NOT EXISTS follower_spike_alerts (
    alert_id String,
    creator_id String,
    campaign_ids Array(String),
    status String,
    severity String,
    score Float64,
    started_at DateTime('UTC'),
    updated_at DateTime('UTC'),
    ended_at Nullable(DateTime('UTC')),
    observed_growth Int64,
    expected_growth Float64,
    followers_count UInt64,
    reasons Array(String),
    innocent_causes Array(String),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (creator_id, alert_id)""",
    # Records and rows that could not go where they belong (see sinks/dead_letters.py):
    # one row per source record (or refused row), however often it was set aside.
    """CREATE TABLE IF NOT EXISTS dead_letters (
    recorded_at DateTime('UTC'),
    reason String,
    detail String,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    key String,
    length UInt64,
    sha256 String,
    prefix String,
    failure String
) ENGINE = ReplacingMergeTree
ORDER BY (source_topic, source_partition, source_offset, sha256)""",
)

_SUM_INTERACTIONS = "e.likes + e.comments + e.saves + e.shares"


def _engagement_view(name: str, seconds: int) -> str:
    counts = ", ".join(f"e.{c} AS {c}" for c in COUNT_COLUMNS)
    # Built only from the constants above: no outside value reaches this text.
    return f"""CREATE VIEW IF NOT EXISTS {name} AS
SELECT
    e.window_start AS window_start,
    e.campaign_id AS campaign_id,
    e.creator_id AS creator_id,
    e.media_id AS media_id,
    {counts},
    toUInt64({_SUM_INTERACTIONS}) AS interactions,
    e.unique_actors AS unique_actors,
    e.reach AS reach,
    if(f.creator_id = '', NULL, f.followers_count) AS followers,
    if(followers > 0, interactions / followers, NULL) AS engagement_rate,
    if(e.reach > 0, interactions / e.reach, NULL) AS engagement_rate_by_reach
FROM
(
    SELECT *, toUInt64(toUnixTimestamp(window_start) + {seconds}) * 1000 AS window_end_ms
    FROM engagement_windows FINAL
    WHERE window_seconds = {seconds}
) AS e
ASOF LEFT JOIN
(
    SELECT creator_id, observed_at_ms, followers_count FROM follower_snapshots FINAL
) AS f
ON e.creator_id = f.creator_id AND e.window_end_ms > f.observed_at_ms"""  # noqa: S608


VIEWS = (
    _engagement_view("engagement_minute", 60),
    _engagement_view("engagement_hour", 3600),
)

#: ASOF JOIN with a strict inequality is in every ClickHouse from 20.1 on.
VIEWS_MIN_VERSION = (20, 1)


def migrations(server_version: tuple[int, int]) -> list[str]:
    """Statements to bring a warehouse of this version up to date; each is idempotent."""
    from campaignpulse.sinks import schema_authenticity, schema_campaigns

    statements = [*TABLES, *schema_campaigns.TABLES, *schema_authenticity.TABLES]
    if server_version >= VIEWS_MIN_VERSION:
        statements.extend(VIEWS)
        statements.extend(schema_campaigns.VIEWS)
    return statements


@dataclass(frozen=True)
class ColumnChange:
    """A column whose type changed after release: ``statements`` run where it is not
    ``new_type`` yet, and keep the rows."""

    table: str
    column: str
    new_type: str
    statements: tuple[str, ...]


COLUMN_CHANGES = (
    # Open alerts had ended_at 1970-01-01; NULL says "not ended". ALTER ... UPDATE is a
    # mutation (ClickHouse >= 18.12, chdb) rewriting the old placeholder.
    ColumnChange(
        "follower_spike_alerts", "ended_at", "Nullable(DateTime('UTC'))",
        (
            "ALTER TABLE follower_spike_alerts MODIFY COLUMN ended_at Nullable(DateTime('UTC'))",
            "ALTER TABLE follower_spike_alerts UPDATE ended_at = NULL "
            "WHERE ended_at = toDateTime(0, 'UTC')",
        ),
    ),
)


def skipped_objects(server_version: tuple[int, int]) -> list[tuple[str, str]]:
    """Read-model objects ``migrations`` leaves out on this server, each with why."""
    if server_version >= VIEWS_MIN_VERSION:
        return []
    need = ".".join(map(str, VIEWS_MIN_VERSION))
    have = ".".join(map(str, server_version))
    why = (f"needs ClickHouse >= {need} (ASOF JOIN), server is {have}; "
           "query engagement_windows, follower_snapshots and media with FINAL instead")
    return [(view.split("EXISTS ", 1)[1].split()[0], why) for view in VIEWS]
