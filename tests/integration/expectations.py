"""Compare what the warehouse holds with the naive recount of an event file."""

from __future__ import annotations

from pathlib import Path

from campaignpulse.sinks.schema import MEDIA_WINDOW_COLUMNS
from campaignpulse.sinks.warehouse import Warehouse
from tests.recount import COLUMNS, recount, to_ms, values

#: every current engagement row, media rows and creator rollups, in a fixed order
CURRENT_ROWS = (
    "SELECT * FROM media_windows FINAL ORDER BY window_seconds, window_start, campaign_id, "
    "creator_id, media_id",
    "SELECT * FROM creator_windows FINAL ORDER BY window_seconds, window_start, campaign_id, "
    "creator_id",
)

#: current media rows and creator rollups (``media_id ''``) as one relation, for a FROM
#: clause (the layout before the read path kept them in one table, engagement_windows)
WINDOWS = ("(SELECT " + ", ".join(MEDIA_WINDOW_COLUMNS) + " FROM media_windows FINAL "  # noqa: S608
           "UNION ALL SELECT " + ", ".join("'' AS media_id" if c == "media_id" else c
                                          for c in MEDIA_WINDOW_COLUMNS)
           + " FROM creator_windows FINAL)")


def expected_followers(lines: list[str], creator: str, window_end_ms: int) -> int | None:
    best = None
    for v in values(lines, "ig.followers"):
        count = v.get("followers_count")
        if v.get("creator_id") != creator or not isinstance(count, int) or count < 0:
            continue
        ts = to_ms(v["observed_at"])
        if ts < window_end_ms and (best is None or ts > best[0]):
            best = (ts, v["followers_count"])
    return None if best is None else best[1]


def assert_warehouse_matches(warehouse: Warehouse, event_file: Path) -> int:
    """Every engagement row equals the recount, and nothing else is there. Returns rows."""
    lines = event_file.read_text().splitlines()
    expected = recount(lines)
    checked = 0
    for table, size in (("engagement_minute", 60), ("engagement_hour", 3600)):
        rows = warehouse.query(
            f"SELECT toUnixTimestamp(window_start) AS ws, * FROM {table}"  # noqa: S608
        )
        got = {(r["ws"], r["campaign_id"], r["creator_id"], r["media_id"]): r for r in rows}
        assert len(got) == len(rows), f"{table}: more than one row per grain"
        missing, extra = set(expected[table]) - set(got), set(got) - set(expected[table])
        assert not missing and not extra, (
            f"{table}: grains differ: missing {sorted(missing)[:5]} ({len(missing)}), "
            f"extra {sorted(extra)[:5]} ({len(extra)})"
        )
        for key, want in expected[table].items():
            row = got[key]
            for column in (*COLUMNS, "interactions", "unique_actors", "reach"):
                assert row[column] == want[column], (table, key, column)
        # followers: the latest snapshot before the window ends, spot-checked per creator
        for key in sorted(k for k in got if k[3] == "")[:: max(1, len(got) // 50)]:
            row = got[key]
            followers = expected_followers(lines, key[2], (key[0] + size) * 1000)
            assert row["followers"] == followers, (table, key)
            if followers:
                assert abs(row["engagement_rate"] - row["interactions"] / followers) < 1e-9
        checked += len(rows)
    return checked
