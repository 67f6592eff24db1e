"""The warehouse schema: one DDL for ClickHouse servers and the embedded chdb engine.

Laid out for the board's queries. Media rows and creator rollups live in separate tables
whose sorting keys lead with a six-hour block of UTC time (``bucket``), then campaign and
creator, so a range, one campaign or one creator reads only its own granules. Follower
levels are kept per creator and hour by a materialized view (``follower_hours``), so a
board joins the hours of its range instead of every snapshot ever taken. Base tables and
``follower_hours`` use only what ClickHouse 18.16 already had; the read-model views need
ASOF JOIN and are created only where it exists.
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

#: rows of ``media_windows`` (one media in one window)
MEDIA_WINDOW_COLUMNS = (
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
#: rows of ``creator_windows`` (a creator's rollup within one campaign, in one window)
CREATOR_WINDOW_COLUMNS = tuple(c for c in MEDIA_WINDOW_COLUMNS if c != "media_id")
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
#: rows per granule of the tables keyed by bucket: a creator's hours of one bucket are a
#: few dozen rows, so one creator (or the top posts) reads about a granule per bucket
GRANULE = 256
#: the six-hour block of UTC time an hour is in (works on ClickHouse 18.16 too)
BUCKET = "toStartOfHour({0}) - toHour({0}) % 6 * 3600"
#: hours per bucket, minus one: a bucket starts at most this many hours before its hours
BUCKET_HOURS = 5


def _windows_table(name: str, media: bool) -> str:
    """Engagement windows keyed by what the boards select on: window size, six-hour block
    (``bucket``, computed on insert), campaign, creator, then time. A re-sent row of a
    grain carries more events, so the highest ``version`` is the current row."""
    media_column = "\n    media_id String," if media else ""
    media_key = " media_id," if media else ""
    return f"""CREATE TABLE IF NOT EXISTS {name} (
    window_seconds UInt32,
    window_start DateTime('UTC'),
    campaign_id String,
    creator_id String,{media_column}
    {_COUNTS_DDL},
    unique_actors UInt32,
    reach UInt32,
    version UInt64,
    bucket DateTime('UTC') MATERIALIZED {BUCKET.format("window_start")}
) ENGINE = ReplacingMergeTree(version)
PARTITION BY (window_seconds, toYYYYMM(window_start))
ORDER BY (window_seconds, bucket, campaign_id, creator_id,{media_key} window_start)
SETTINGS index_granularity = {GRANULE}"""


TABLES = (
    _windows_table("media_windows", media=True),
    _windows_table("creator_windows", media=False),
    # A re-sent snapshot is the same row: no FINAL is needed to read it correctly.
    """CREATE TABLE IF NOT EXISTS follower_snapshots (
    creator_id String,
    observed_at_ms UInt64,
    observed_at DateTime('UTC'),
    followers_count UInt64,
    follows_count UInt64
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(observed_at)
ORDER BY (creator_id, observed_at_ms)""",
    # The latest snapshot of each creator and UTC hour: ``follower_hours_mv`` fills it on
    # every insert into follower_snapshots; merges keep the latest (``latest_ms``).
    f"""CREATE TABLE IF NOT EXISTS follower_hours (
    creator_id String,
    hour DateTime('UTC'),
    latest_ms UInt64,
    followers UInt64,
    bucket DateTime('UTC')
) ENGINE = ReplacingMergeTree(latest_ms)
PARTITION BY toYYYYMM(hour)
ORDER BY (bucket, creator_id, hour)
SETTINGS index_granularity = {GRANULE}""",
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

#: SELECT of ``follower_hours_mv``, also run over follower_snapshots to fill the table
#: where it is created after snapshots exist (a repeated row changes nothing).
FOLLOWER_HOURS_SELECT = (
    "SELECT creator_id, toStartOfHour(observed_at) AS hour, max(observed_at_ms) AS latest_ms, "  # noqa: S608
    f"argMax(followers_count, observed_at_ms) AS followers, {BUCKET.format('hour')} AS bucket "
    "FROM follower_snapshots GROUP BY creator_id, hour"
)
MATERIALIZED_VIEWS = (
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS follower_hours_mv TO follower_hours AS "
    f"{FOLLOWER_HOURS_SELECT}",
)
#: derived table -> the statement that fills it from its source
BACKFILLS = {"follower_hours": f"INSERT INTO follower_hours {FOLLOWER_HOURS_SELECT}"}

_SUM_INTERACTIONS = "e.likes + e.comments + e.saves + e.shares"


def _engagement_view(name: str, seconds: int) -> str:
    """Media rows and creator rollups (``media_id = ''``) in one relation, each with the
    creator's latest follower count before the window ended. For ad-hoc queries and the
    tests; the boards read the tables."""
    counts = ", ".join(f"e.{c} AS {c}" for c in COUNT_COLUMNS)
    rollups = ", ".join("'' AS media_id" if c == "media_id" else c for c in MEDIA_WINDOW_COLUMNS)
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
    FROM
    (
        SELECT {", ".join(MEDIA_WINDOW_COLUMNS)} FROM media_windows FINAL
        WHERE window_seconds = {seconds}
        UNION ALL
        SELECT {rollups} FROM creator_windows FINAL WHERE window_seconds = {seconds}
    )
) AS e
ASOF LEFT JOIN
(
    SELECT creator_id, observed_at_ms, followers_count FROM follower_snapshots
) AS f
ON e.creator_id = f.creator_id AND e.window_end_ms > f.observed_at_ms"""  # noqa: S608


VIEWS = (
    _engagement_view("engagement_minute", 60),
    _engagement_view("engagement_hour", 3600),
)

#: ASOF JOIN with a strict inequality is in every ClickHouse from 20.1 on.
VIEWS_MIN_VERSION = (20, 1)


def object_name(statement: str) -> str:
    """The table or view a CREATE statement makes."""
    return statement.split("EXISTS ", 1)[1].split()[0]


def views(server_version: tuple[int, int]) -> list[str]:
    from campaignpulse.sinks import schema_campaigns

    if server_version < VIEWS_MIN_VERSION:
        return []
    return [*VIEWS, *schema_campaigns.VIEWS]


def migrations(server_version: tuple[int, int]) -> list[str]:
    """Statements to bring a warehouse of this version up to date; each is idempotent."""
    from campaignpulse.sinks import hour_rollups, schema_authenticity, schema_campaigns

    return [*TABLES, *hour_rollups.TABLES, *schema_campaigns.TABLES,
            *schema_authenticity.TABLES, *MATERIALIZED_VIEWS, *views(server_version)]


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


@dataclass(frozen=True)
class TableMove:
    """Rows of a table of an older layout, copied into the tables that replaced it. The
    old table is then renamed (``<table>_v1``), never dropped: the operator drops it."""

    table: str
    #: (target table, its columns, the WHERE that selects its rows from the old table)
    targets: tuple[tuple[str, tuple[str, ...], str], ...]


def _table_moves() -> tuple[TableMove, ...]:
    from campaignpulse.sinks.schema_campaigns import KPI_COLUMNS

    return (
        # Media rows and creator rollups (media_id = '') were one table keyed by time.
        TableMove("engagement_windows",
                  (("media_windows", MEDIA_WINDOW_COLUMNS, "media_id != ''"),
                   ("creator_windows", CREATOR_WINDOW_COLUMNS, "media_id = ''"))),
        # KPI hours and to-date rows were one table keyed by campaign, without time.
        TableMove("campaign_kpi_windows",
                  (("campaign_kpi_hours", KPI_COLUMNS, "window_seconds = 3600"),
                   ("campaign_kpi_to_date", KPI_COLUMNS, "window_seconds = 0"))),
    )


TABLE_MOVES = _table_moves()
#: text only the views of older layouts have in their stored definition: such a view is
#: dropped and created again (CREATE VIEW IF NOT EXISTS would keep it)
STALE_VIEW_TEXT = ("engagement_windows", "campaign_kpi_windows", "follower_snapshots FINAL")


def skipped_objects(server_version: tuple[int, int]) -> list[tuple[str, str]]:
    """Read-model objects ``migrations`` leaves out on this server, each with why."""
    from campaignpulse.sinks import hour_rollups, schema_campaigns

    skipped: list[tuple[str, str]] = []
    if server_version < hour_rollups.MIN_VERSION:
        need = ".".join(map(str, hour_rollups.MIN_VERSION))
        skipped.extend((table, f"created but not filled: needs ClickHouse >= {need} "
                                "(ASOF JOIN, now64)")
                       for table in ("creator_hours", "campaign_hours", "post_hour_tops"))
    if server_version >= VIEWS_MIN_VERSION:
        return skipped
    need = ".".join(map(str, VIEWS_MIN_VERSION))
    have = ".".join(map(str, server_version))
    why = (f"needs ClickHouse >= {need} (ASOF JOIN), server is {have}; "
           "query the tables with FINAL instead (README, Read model)")
    return [*skipped, *((object_name(view), why) for view in (*VIEWS, *schema_campaigns.VIEWS))]
