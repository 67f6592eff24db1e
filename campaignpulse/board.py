"""The demo's live terminal board, and its closing summary."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.streams.runtime import WorkerStats

log = logging.getLogger(__name__)

TOP_CREATORS_SQL = """
SELECT creator_id, sum(interactions) AS total_interactions, max(followers) AS latest_followers,
       round(total_interactions / latest_followers * 100, 2) AS engagement_pct
FROM engagement_hour
WHERE media_id = '' AND window_start = (
    SELECT max(window_start) FROM engagement_windows WHERE window_seconds = 3600)
GROUP BY creator_id
HAVING latest_followers > 0
ORDER BY engagement_pct DESC
LIMIT 10
"""

ACTIVE_ALERTS_SQL = """
SELECT creator_id, status, severity, observed_growth, round(expected_growth) AS expected,
       arrayStringConcat(reasons, ',') AS why, arrayStringConcat(innocent_causes, ',') AS innocent,
       started_at
FROM follower_spike_alerts FINAL
WHERE status = 'firing'
   OR ended_at >= (SELECT max(updated_at) FROM follower_spike_alerts) - INTERVAL 1 HOUR
ORDER BY status = 'firing' DESC, severity = 'critical' DESC, started_at DESC
LIMIT 8
"""


class Board:
    def __init__(self, warehouse: Warehouse, stats: WorkerStats, enabled: bool) -> None:
        self.warehouse = warehouse
        self.stats = stats
        self.enabled = enabled
        self._last = (time.monotonic(), 0)

    def render(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        then, events_then = self._last
        rate = (self.stats.events - events_then) / max(now - then, 1e-6)
        self._last = (now, self.stats.events)
        lag = (
            f"{time.time() - self.stats.newest_event_ms / 1000:,.0f}s"
            if self.stats.newest_event_ms > 0
            else "-"
        )
        lines = [
            "campaignpulse demo — live engagement (Ctrl-C to stop)",
            f"events/s {rate:,.0f}   events {self.stats.events:,}   lag {lag}   "
            f"duplicates {self.stats.duplicates:,}   DLQ {_dlq(self.stats)}",
            "",
            f"{'top creators, latest hour':<28}{'interactions':>14}{'followers':>12}{'ER %':>8}",
        ]
        lines.extend(
            f"{row['creator_id']:<28}{int(row['total_interactions']):>14,}"
            f"{int(row['latest_followers']):>12,}{row['engagement_pct']:>8}"
            for row in self._query(TOP_CREATORS_SQL)
        )
        alerts = self._query(ACTIVE_ALERTS_SQL)
        lines += ["", f"follower spikes: firing, and resolved within the hour "
                      f"({self.stats.alerts:,} opened so far)"]
        lines.extend(
            f"{row['status']:<9}{row['severity']:<9}{row['creator_id']:<12}"
            f"+{int(row['observed_growth']):>7,}"
            f" (expected {int(row['expected']):,})  {row['why']}"
            + (f"  innocent: {row['innocent']}" if row["innocent"] else "")
            for row in alerts
        )
        sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
        sys.stdout.flush()

    def _query(self, sql: str) -> list[dict[str, Any]]:
        try:
            return self.warehouse.query(sql)
        except Exception:  # the board must never take the demo down, but must say why
            log.exception("board query failed")
            return []


def _dlq(stats: WorkerStats) -> str:
    if not stats.dead_letters:
        return "0"
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(stats.dead_letters.items()))


def summary(warehouse: Warehouse, stats: WorkerStats, unroutable: int, seconds: float) -> str:
    counts = warehouse.query(
        "SELECT (SELECT count() FROM engagement_minute) AS minute_rows, "
        "(SELECT count() FROM engagement_hour) AS hour_rows, "
        "(SELECT count() FROM media FINAL) AS media, "
        "(SELECT count() FROM follower_snapshots FINAL) AS snapshots, "
        "(SELECT count() FROM follower_spike_alerts FINAL) AS alerts, "
        "(SELECT countIf(severity = 'critical') FROM follower_spike_alerts FINAL) AS critical"
    )[0]
    dlq = dict(stats.dead_letters)
    if unroutable:
        dlq["malformed_line"] = dlq.get("malformed_line", 0) + unroutable
    return (
        f"processed {stats.events:,} events in {seconds:,.1f}s; duplicates dropped "
        f"{stats.duplicates:,}; dead letters {dlq or 0}\n"
        f"warehouse: engagement_minute {counts['minute_rows']:,} rows, engagement_hour "
        f"{counts['hour_rows']:,} rows, media {counts['media']:,}, follower snapshots "
        f"{counts['snapshots']:,}, follower spike alerts {counts['alerts']:,} "
        f"({counts['critical']:,} critical)"
    )
