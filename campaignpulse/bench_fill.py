"""Fill a warehouse fast for ``campaignpulse bench --read``: ``INSERT … SELECT`` from
``numbers()``, shaped like a busy live warehouse.

Every creator has six posts live in every hour (a new one every four hours, each
interacted with for a day, decaying), rows at minute and hour grain for media and for the
creator's rollups, seven follower snapshots an hour (5 % of them re-sent), campaign KPI
rows, contests, disclosure and spike alerts, and the hourly rollups the sink derives.
About 30 % of the engagement and KPI rows are older versions of a grain, written in parts
of their own and left unmerged (merges are stopped while the bench runs), as a warehouse
holds them between merges.
"""

# ruff: noqa: S608 - SQL built from integers and this module's constants only

from __future__ import annotations

from dataclasses import dataclass

from campaignpulse.sinks import hour_rollups
from campaignpulse.sinks.schema import COUNT_COLUMNS
from campaignpulse.sinks.schema_campaigns import KPI_COLUMNS
from campaignpulse.sinks.warehouse import Warehouse

HOUR_S = 3600
CAMPAIGNS = 10
#: live posts per creator and hour, and the minutes of each hour with interactions
POSTS_LIVE = 6
MINUTES = 20
#: share of grains that also have an older, superseded row (0.45 / 1.45 ≈ 31 % of rows)
SUPERSEDED = 0.45
#: inserts per table and version, each with parts of its own
BATCHES = 2
#: one part per partition and insert, however many rows it has
ONE_PART = " SETTINGS min_insert_block_size_rows = 0, min_insert_block_size_bytes = 4000000000"
#: tables the bench fills and keeps unmerged
FILLED = ("media_windows", "creator_windows", "follower_snapshots", "follower_hours",
          "creator_hours", "campaign_hours", "post_hour_tops",
          "campaign_kpi_hours", "campaign_kpi_to_date", "media", "campaigns",
          "contest_performance", "contest_entries_minute", "disclosure_alerts",
          "follower_spike_alerts")


@dataclass(frozen=True)
class Shape:
    creators: int
    days: int
    #: the open hour (UTC, whole hours); data covers ``days`` before it and the hour itself
    end_hour_s: int

    @property
    def hours(self) -> int:
        return self.days * 24 + 1

    @property
    def start_s(self) -> int:
        return self.end_hour_s - (self.hours - 1) * HOUR_S


def creator(i: str) -> str:
    return f"concat('cr-', leftPad(toString({i}), 5, '0'))"


def campaign_of(i: str) -> str:
    """70 % of creators are in one of the campaigns."""
    return (f"if(cityHash64({i}, 'member') % 10 < 7, "
            f"concat('cmp-', leftPad(toString({i} % {CAMPAIGNS}), 3, '0')), '')")


def _posts(shape: Shape, scale: str) -> str:
    """One row per creator, hour and live post; ``scale`` shrinks an older version."""
    n, h = shape.creators, shape.hours
    base = ("(5 + cityHash64(i) % 60) * exp(-age / 6) "
            f"* (0.5 + (cityHash64(number) % 100) / 100) * {scale}")
    story, reel = "k % 5 IN (1, 2)", "k % 5 = 0"
    counts = {
        "likes": f"if({story}, 0, {base})", "comments": f"if({story}, 0, {base} / 10)",
        "saves": f"if({story}, 0, {base} / 20)", "shares": f"if({story}, 0, {base} / 40)",
        "story_views": f"if({story}, {base} * 3, 0)",
        "story_replies": f"if({story}, {base} / 30, 0)",
        "story_taps_forward": f"if({story}, {base}, 0)",
        "story_taps_back": f"if({story}, {base} / 8, 0)",
        "story_exits": f"if({story}, {base} / 4, 0)", "reel_plays": f"if({reel}, {base} * 4, 0)",
    }
    columns = ", ".join(f"toUInt32({counts[c]}) AS {c}" for c in COUNT_COLUMNS)
    total = " + ".join(COUNT_COLUMNS)
    return f"""SELECT toDateTime({shape.start_s} + h * {HOUR_S}, 'UTC') AS window_start,
    if(k % 2 = 0, {campaign_of('i')}, '') AS campaign_id, {creator('i')} AS creator_id,
    concat({creator('i')}, '-m', toString(k)) AS media_id, {columns},
    toUInt32({base} * 0.8 + 1) AS unique_actors,
    toUInt32(if({story} OR {reel}, {base} * 2 + 1, 0)) AS reach,
    toUInt64({total} + 1) AS version
FROM (SELECT number, number % {n} AS i, intDiv(number, {n}) % {h} AS h,
    intDiv(h + i % 4, 4) + 1 + intDiv(number, {n * h}) AS k, h + 24 + i % 4 - 4 * k AS age
    FROM numbers({n * h * POSTS_LIVE}))"""


def _minutes(rows: str) -> str:
    """Each hour row spread over MINUTES minutes of that hour."""
    counts = ", ".join(f"toUInt32({c} / {MINUTES}) AS {c}" for c in COUNT_COLUMNS)
    return f"""SELECT window_start + (m * 3 + cityHash64(creator_id) % 3) * 60 AS window_start,
    campaign_id, creator_id, media_id, {counts}, toUInt32(unique_actors / {MINUTES} + 1)
    AS unique_actors, toUInt32(reach / {MINUTES}) AS reach, toUInt64(version / {MINUTES} + 1)
    AS version FROM ({rows}) ARRAY JOIN range({MINUTES}) AS m"""


def _rollups(rows: str) -> str:
    sums = ", ".join(f"sum({c}) AS {c}" for c in (*COUNT_COLUMNS, "unique_actors", "reach",
                                                  "version"))
    return (f"SELECT window_start, campaign_id, creator_id, {sums} FROM ({rows}) "
            "GROUP BY window_start, campaign_id, creator_id")


def _windows(warehouse: Warehouse, shape: Shape, spread: bool = False) -> None:
    """Rows in time slices, as a worker writes them. The older versions of a grain: its
    window is rewritten while open, and merges collapse the versions a few hours later,
    so the last day holds them: three each, about 30 % of all rows. ``spread``: one older
    version for 45 % of the grains of every day instead."""
    media = ", ".join(c for c in COUNT_COLUMNS)
    recent = f"window_start >= toDateTime({shape.end_hour_s - 23 * HOUR_S}, 'UTC')"
    if spread:
        writes = [(scale, f"cityHash64(creator_id) % {BATCHES} = {batch} AND "
                          f"cityHash64(media_id, window_start) % 100 {chosen}")
                  for batch in range(BATCHES)
                  for scale, chosen in (("0.6", f"< {int(SUPERSEDED * 100)}"), ("1", ">= 0"))]
    else:
        middle = shape.end_hour_s - (shape.days // 2 + 1) * 24 * HOUR_S
        writes = [("1", f"window_start < toDateTime({middle}, 'UTC')"),
                  ("1", f"window_start >= toDateTime({middle}, 'UTC') AND NOT ({recent})"),
                  *((scale, recent) for scale in ("0.3", "0.5", "0.7", "1"))]
    for seconds in (60, 3600):
        for scale, where in writes:
            rows = _posts(shape, scale)
            if seconds == 60:
                rows = _minutes(rows)
            rows = f"SELECT * FROM ({rows}) WHERE {where}"
            prefix = f"{seconds} AS window_seconds, window_start, campaign_id, creator_id"
            warehouse.execute(
                "INSERT INTO media_windows (window_seconds, window_start, campaign_id, "
                f"creator_id, media_id, {media}, unique_actors, reach, version) "
                f"SELECT {prefix}, media_id, {media}, unique_actors, reach, version "
                f"FROM ({rows}){ONE_PART}")
            warehouse.execute(
                "INSERT INTO creator_windows (window_seconds, window_start, campaign_id, "
                f"creator_id, {media}, unique_actors, reach, version) SELECT {prefix}, "
                f"{media}, unique_actors, reach, version FROM ({_rollups(rows)}){ONE_PART}")


def _followers(warehouse: Warehouse, shape: Shape) -> None:
    """Seven snapshots per creator and hour from a day before the range; slow growth,
    and a bought jump for one creator in fifty."""
    n, slots = shape.creators, (shape.hours + 24) * 7
    first_ms = (shape.start_s - 24 * HOUR_S) * 1000
    snapshots = f"""SELECT {creator('i')} AS creator_id, ms AS observed_at_ms,
    toDateTime(intDiv(ms, 1000), 'UTC') AS observed_at,
    toUInt64(2000 + cityHash64(i) % 80000 + slot * (cityHash64(i) % 5)
        + if(cityHash64(i, 'bought') % 50 = 0 AND slot > {slots // 2}, 5000, 0)) AS followers_count,
    toUInt64(300 + i % 1000) AS follows_count
FROM (SELECT number % {n} AS i, intDiv(number, {n}) AS slot,
    toUInt64({first_ms} + slot * 514285 + cityHash64(number) % 400000) AS ms
    FROM numbers({n * slots}))"""
    for batch in range(BATCHES):
        warehouse.execute(f"INSERT INTO follower_snapshots SELECT * FROM ({snapshots}) "
                          f"WHERE cityHash64(creator_id) % {BATCHES} = {batch}")
    warehouse.execute(f"INSERT INTO follower_snapshots SELECT * FROM ({snapshots}) "
                      "WHERE cityHash64(observed_at_ms) % 20 = 0")  # re-sent, identical


def _catalogue(warehouse: Warehouse, shape: Shape) -> None:
    """Media, campaign definitions, contests, disclosure and spike alerts."""
    n, start = shape.creators, shape.start_s
    per_creator = (shape.hours + 24) // 4 + POSTS_LIVE
    warehouse.execute(f"""INSERT INTO media SELECT concat({creator('i')}, '-m', toString(k)),
    {creator('i')}, if(k % 2 = 0, {campaign_of('i')}, ''),
    multiIf(k % 5 = 0, 'REELS', k % 5 IN (1, 2), 'STORY', 'FEED'),
    toDateTime({start} + (4 * k - i % 4 - 24) * {HOUR_S}, 'UTC'), k % 4 = 0, 'bench post'
FROM (SELECT number % {n} AS i, intDiv(number, {n}) AS k FROM numbers({n * per_creator}))""")
    ends = shape.end_hour_s + 7 * 24 * HOUR_S
    warehouse.execute(f"""INSERT INTO campaigns SELECT concat('cmp-', leftPad(toString(number),
    3, '0')), 'brand', 'bench campaign', 'EUR', toDateTime({start - 24 * HOUR_S}, 'UTC'),
    toDateTime({ends}, 'UTC'), {n // CAMPAIGNS}, toInt64({n // CAMPAIGNS}) * 40000, 1, '{{}}', 0, 1
FROM numbers({CAMPAIGNS})""")
    warehouse.execute(f"""INSERT INTO contest_performance SELECT concat('ct-', toString(number)),
    {creator('i')}, concat({creator('i')}, '-m0'), {campaign_of('i')},
    toDateTime(s, 'UTC'), toDateTime(s + 6 * {HOUR_S}, 'UTC'), 15000,
    s + 6 * {HOUR_S} < {shape.end_hour_s}, 400, 300, 20, 3, 2, 1, 40, 25, 5, 4, 280, 50, 12, 1,
    30, 60, 2
FROM (SELECT number, number * 7 % {n} AS i,
    {start} + toInt64(number * {max(1, shape.hours - 6) // 10}) * {HOUR_S} AS s
    FROM numbers(10))""")
    warehouse.execute("""INSERT INTO contest_entries_minute SELECT contest_id,
    starts_at + m * 60, 1 + m % 3, 1 + m % 2, m % 2, 1
FROM contest_performance ARRAY JOIN range(360) AS m""")
    warehouse.execute("""INSERT INTO disclosure_alerts SELECT concat('disclosure-', media_id),
    campaign_id, creator_id, media_id, if(cityHash64(media_id) % 3 = 0, 'resolved', 'firing'),
    if(cityHash64(media_id) % 2 = 0, 'below_fold', 'missing'), 'warning', published_at, 1
FROM media WHERE campaign_id != '' AND cityHash64(media_id) % 7 = 0""")
    warehouse.execute(f"""INSERT INTO follower_spike_alerts SELECT concat({creator('i')},
    '-spike'), {creator('i')}, arrayFilter(c -> c != '', [{campaign_of('i')}]),
    if(i % 3 = 0, 'firing', 'resolved'),
    if(i % 2 = 0, 'critical', 'warning'), 0.9, toDateTime(s, 'UTC'), toDateTime(s + 600, 'UTC'),
    if(i % 3 = 0, NULL, toDateTime(s + 3600, 'UTC')), 5000, 40.5, 20000,
    ['round_number_jump'], [], 1
FROM (SELECT number * 50 AS i, {start} + cityHash64(number) % {shape.hours * HOUR_S} AS s
    FROM numbers({max(1, n // 50)}))""")


def _kpis(warehouse: Warehouse, shape: Shape) -> None:
    """Hourly KPI rows of every campaign creator, 45 % with an older version, and to date."""
    hours = f"""SELECT window_seconds, window_start,
    window_start + {HOUR_S} AS window_end, campaign_id, creator_id, likes, comments, saves,
    shares, story_views, reel_plays, likes + comments + saves + shares AS interactions,
    reach, toInt64(likes * 8 + comments * 50 + saves * 40 + shares * 60 + story_views * 2
        + reel_plays) AS emv_cents, toInt64(40000 / {shape.hours}) AS cost_cents, version
FROM creator_windows FINAL WHERE window_seconds = 3600 AND campaign_id != ''"""
    columns = ", ".join(KPI_COLUMNS)
    older = {"likes": "toUInt32(likes * 0.6)", "interactions": "toUInt64(interactions * 0.6)",
             "emv_cents": "toInt64(emv_cents * 0.6)", "version": "toUInt64(version / 2)"}
    old = ", ".join(older.get(c, c) for c in KPI_COLUMNS)
    warehouse.execute(f"INSERT INTO campaign_kpi_hours ({columns}) SELECT {old} FROM ({hours}) "
                      f"WHERE cityHash64(creator_id, window_start) % 100 < {int(SUPERSEDED * 100)}")
    warehouse.execute(f"INSERT INTO campaign_kpi_hours ({columns}) SELECT {columns} "
                      f"FROM ({hours})")
    warehouse.execute(f"""INSERT INTO campaign_kpi_to_date ({columns}) SELECT 0, toDateTime(0),
    any(window_end), campaign_id, creator_id, sum(likes), sum(comments), sum(saves), sum(shares),
    sum(story_views), sum(reel_plays), sum(interactions), sum(reach), sum(emv_cents),
    40000, sum(version) FROM campaign_kpi_hours FINAL GROUP BY campaign_id, creator_id""")


def fill(warehouse: Warehouse, shape: Shape, spread: bool = False) -> None:
    """Fill the (migrated, empty) warehouse; merges stay stopped on the filled tables."""
    for table in FILLED:
        warehouse.execute(f"SYSTEM STOP MERGES {table}")
    _windows(warehouse, shape, spread)
    _followers(warehouse, shape)
    _catalogue(warehouse, shape)
    _kpis(warehouse, shape)
    _rollups_of_hours(warehouse, shape)


def _rollups_of_hours(warehouse: Warehouse, shape: Shape) -> None:
    """The hourly rollups as the sink leaves them: every hour computed once, the last day's
    recomputed twice more (a live worker recomputes its open hours on every flush)."""
    for statement in hour_rollups.BACKFILL:
        warehouse.execute(statement)
    last_day = range(shape.end_hour_s - 23 * HOUR_S, shape.end_hour_s + HOUR_S, HOUR_S)
    for _ in range(2):
        for statement in hour_rollups.refresh_statements(last_day, []):
            warehouse.execute(statement)


def start_merges(warehouse: Warehouse) -> None:
    for table in FILLED:
        warehouse.execute(f"SYSTEM START MERGES {table}")


def sizes(warehouse: Warehouse) -> dict[str, dict[str, int]]:
    """Rows and active parts per filled table."""
    rows = warehouse.query(
        "SELECT table, sum(rows) AS rows, count() AS parts FROM system.parts "
        "WHERE database = currentDatabase() AND active GROUP BY table")
    return {str(r["table"]): {"rows": int(r["rows"]), "parts": int(r["parts"])} for r in rows}
