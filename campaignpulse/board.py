"""The demo's live board and closing summary, and tables for ``sql``, drawn with rich.

The board is a header plus a list of sections; each section turns the warehouse into one
renderable, so new boards (campaigns, contests) are appended without touching this file.
Off a terminal nothing live is drawn and no escape codes are written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.worker.outputs import WorkerStats

log = logging.getLogger(__name__)

#: One part of the board: reads the warehouse, returns something rich can draw.
Section = Callable[[Warehouse], RenderableType]

TOP_CREATORS_SQL = """
SELECT creator_id, sum(interactions) AS total_interactions, max(followers) AS latest_followers,
       round(total_interactions / latest_followers * 100, 2) AS engagement_pct
FROM engagement_hour
WHERE media_id = '' AND window_start = (
    SELECT max(window_start) FROM creator_windows WHERE window_seconds = 3600)
GROUP BY creator_id
HAVING latest_followers > 0
ORDER BY engagement_pct DESC
LIMIT 10
"""

ACTIVE_ALERTS_SQL = """
SELECT creator_id, status, severity, observed_growth, expected_growth,
       arrayStringConcat(reasons, ', ') AS why,
       arrayStringConcat(innocent_causes, ', ') AS innocent,
       started_at, updated_at
FROM follower_spike_alerts FINAL
WHERE status = 'firing'
   OR ended_at >= (SELECT max(updated_at) FROM follower_spike_alerts) - INTERVAL 1 HOUR
ORDER BY status = 'firing' DESC, severity = 'critical' DESC, started_at DESC
LIMIT 8
"""


def stdout_console() -> Console:
    return Console(highlight=False)


def top_creators(warehouse: Warehouse) -> RenderableType:
    table = Table(title="top creators by engagement rate, latest event-time hour",
                  title_justify="left")
    table.add_column("creator")
    table.add_column("interactions", justify="right")
    table.add_column("followers", justify="right")
    table.add_column("engagement %", justify="right")
    for row in _query(warehouse, TOP_CREATORS_SQL):
        table.add_row(row["creator_id"], f"{int(row['total_interactions']):,}",
                      f"{int(row['latest_followers']):,}", f"{float(row['engagement_pct']):.2f}")
    return table


def spike_alerts(warehouse: Warehouse) -> RenderableType:
    table = Table(title="follower spikes: firing, and resolved within the hour",
                  title_justify="left")
    for name in ("status", "severity", "creator", "gained", "expected", "over", "why",
                 "innocent cause"):
        table.add_column(name, justify="right" if name in ("gained", "expected", "over")
                         else "left")
    for row in _query(warehouse, ACTIVE_ALERTS_SQL):
        minutes = (_epoch(row["updated_at"]) - _epoch(row["started_at"])) / 60
        table.add_row(
            row["status"], row["severity"], row["creator_id"],
            f"+{int(row['observed_growth']):,} followers",
            f"{float(row['expected_growth']):,.0f} followers",
            f"{minutes:,.0f} min", row["why"], row["innocent"] or "-",
        )
    table.caption = ("expected: the followers the creator's usual growth rate brings "
                     "over the same span of event time")
    return table


def _campaign_sections() -> list[Section]:
    from campaignpulse.campaign_board import campaign_kpis_table, contest_table, disclosure_table

    return [campaign_kpis_table, contest_table, disclosure_table]


DEFAULT_SECTIONS: list[Section] = [top_creators, spike_alerts, *_campaign_sections()]


class Board:
    """A live view of the run: the header from the worker's counters, then each section."""

    def __init__(
        self,
        warehouse: Warehouse,
        stats: WorkerStats,
        sections: Sequence[Section] = DEFAULT_SECTIONS,
        *,
        enabled: bool = True,
        stops_by_itself: bool = False,
        unroutable: Callable[[], int] = lambda: 0,
        event_time_note: str = "",
        console: Console | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.stats = stats
        self.sections = list(sections)
        self.console = console or stdout_console()
        #: drawn only on a terminal: piped output gets the summary alone
        self.enabled = enabled and self.console.is_terminal
        self.stops_by_itself = stops_by_itself
        self.unroutable = unroutable
        self.event_time_note = event_time_note
        self.started = time.monotonic()
        self._live: Live | None = None

    def __enter__(self) -> Board:
        if self.enabled:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.render(), refresh=True)

    def render(self) -> RenderableType:
        return Group(self.header(), *(section(self.warehouse) for section in self.sections))

    def header(self) -> RenderableType:
        stats = self.stats
        stop = "runs until its input is done" if self.stops_by_itself else "Ctrl-C to stop"
        seconds = time.monotonic() - self.started
        text = Text(f"campaignpulse demo — live engagement ({stop})\n", style="bold")
        text.append(
            f"events {stats.events:,}   events/s {_rate(stats.events, seconds)} (run average)   "
            f"duplicates dropped {stats.duplicates:,}   "
            f"dead letters {_letters(dead_letters(stats, self.unroutable()))}   "
            f"spike alerts opened {stats.alerts:,}\n"
        )
        text.append(event_time_line(stats, self.event_time_note))
        return text


def event_time_line(stats: WorkerStats, note: str = "") -> str:
    """Where event time stands, and how far that is behind the wall clock (and why)."""
    if stats.newest_event_ms <= 0:
        return "event time: no events yet"
    behind = time.time() - stats.newest_event_ms / 1000
    when = datetime.fromtimestamp(stats.newest_event_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    relation = "behind" if behind >= 0 else "ahead of"
    line = f"event time: newest event {when} UTC, {_duration(abs(behind))} {relation}"
    return line + " the wall clock" + (f" ({note})" if note else "")


def dead_letters(stats: WorkerStats, unroutable: int) -> dict[str, int]:
    """The worker's dead letters plus the lines the producer could not route itself."""
    letters = dict(stats.dead_letters)
    if unroutable:
        letters["malformed_line"] = letters.get("malformed_line", 0) + unroutable
    return letters


def summary(warehouse: Warehouse, stats: WorkerStats, unroutable: int, seconds: float) -> str:
    counts = warehouse.query(
        "SELECT (SELECT count() FROM engagement_minute) AS minute_rows, "
        "(SELECT count() FROM engagement_hour) AS hour_rows, "
        "(SELECT count() FROM media FINAL) AS media, "
        "(SELECT count() FROM follower_snapshots FINAL) AS snapshots, "
        "(SELECT count() FROM follower_spike_alerts FINAL) AS alerts, "
        "(SELECT countIf(severity = 'critical') FROM follower_spike_alerts FINAL) AS critical"
    )[0]
    text = worker_summary(stats, seconds, unroutable) + (
        f"\nwarehouse: engagement_minute {counts['minute_rows']:,} rows, engagement_hour "
        f"{counts['hour_rows']:,} rows, media {counts['media']:,}, follower snapshots "
        f"{counts['snapshots']:,}, follower spike alerts {counts['alerts']:,} "
        f"({counts['critical']:,} critical)"
    )
    return text


def worker_summary(stats: WorkerStats, seconds: float, unroutable: int = 0) -> str:
    letters = dead_letters(stats, unroutable)
    lines = [
        f"processed {stats.events:,} events from {stats.records:,} records in {seconds:,.1f}s "
        f"({_rate(stats.events, seconds)} events/s); duplicates dropped {stats.duplicates:,}; "
        f"dead letters {_letters(letters)}; rows written {stats.rows_written:,}"
    ]
    if stats.restored_partitions:
        lines.append(f"state: restored {stats.restored_partitions:,} partitions "
                     f"({stats.restore_records:,} changelog records in "
                     f"{stats.restore_seconds:,.2f}s); wrote {stats.changelog_records:,} "
                     "changelog records")
    if stats.reread:
        lines.append(f"read again after a crash and skipped (the restored state covered "
                     f"them): {stats.reread:,} records")
    if stats.records == 0:
        lines.append("nothing new to read: the input topics were empty, or this group had "
                     "already committed everything in them (`campaignpulse replay` re-reads)")
    elif stats.events == 0 and any(letters.values()):
        lines.append(f"warning: read {stats.records:,} records and accepted none of them "
                     "(see the dead letters above; a file for `produce` needs one "
                     '{"topic": ..., "value": {...}} per line)')
    elif stats.events == 0 and stats.duplicates:
        lines.append(f"read {stats.records:,} records, all of them events counted before "
                     "(the same file again?)")
    return "\n".join(lines)


def rows_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Query results for reading: numbers right-aligned, rates rounded (json keeps all)."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    names = list(rows[0]) if rows else []
    for name in names:
        numeric = any(isinstance(row[name], int | float) for row in rows)
        table.add_column(name, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(_cell(row[name]) for name in names))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def _query(warehouse: Warehouse, sql: str) -> list[dict[str, Any]]:
    try:
        return warehouse.query(sql)
    except Exception:  # the board must never take the demo down, but must say why
        log.exception("board query failed")
        return []


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace(" ", "T")).replace(tzinfo=UTC).timestamp()


def _rate(events: int, seconds: float) -> str:
    return f"{events / seconds:,.0f}" if seconds > 0 else "-"


def _letters(letters: Mapping[str, int]) -> str:
    if not letters:
        return "0"
    return ", ".join(f"{reason} {n:,}" for reason, n in sorted(letters.items()))


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
