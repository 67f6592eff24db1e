"""Turns pipeline output into warehouse inserts.

Idempotency lives in the schema: every table is a ReplacingMergeTree keyed by its grain,
and engagement rows carry the count of distinct events as their version. Media rows and
creator rollups go to their own tables (``media_windows``, ``creator_windows``). Writing the
same rows again, or a replay's rows, converges to the same current row per grain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from campaignpulse.sinks import hour_rollups
from campaignpulse.sinks.dead_letters import (
    DEAD_LETTER_COLUMNS,
    Letter,
    LetterLimits,
    dead_letter,
    table_row,
)
from campaignpulse.sinks.schema import (
    ALERT_COLUMNS,
    CREATOR_WINDOW_COLUMNS,
    MEDIA_COLUMNS,
    MEDIA_WINDOW_COLUMNS,
    SNAPSHOT_COLUMNS,
)
from campaignpulse.sinks.warehouse import Warehouse, is_data_error
from campaignpulse.sinks.writer_authenticity import AuthenticityWrites
from campaignpulse.sinks.writer_campaigns import CampaignWrites
from campaignpulse.streams.contract import DLQ_TOPIC, FollowerSnapshot, Media, Reason
from campaignpulse.streams.spikes.alert import SpikeAlert
from campaignpulse.streams.windows import EngagementRow

log = logging.getLogger(__name__)

#: Called after each insert with (table, rows, seconds): the shell's metrics hook.
InsertObserver = Callable[[str, int, float], None]

#: Reason of a row the warehouse refused as bad data.
SINK_REJECTED = str(Reason.SINK_REJECTED)
_INT64 = (-(2**63), 2**63 - 1)
_UINT64 = (0, 2**64 - 1)
#: Integer columns checked before insert, by position: engines differ on overflow (the
#: server's client refuses it, chdb wraps silently), so the range is ours to check. The
#: contract bounds make these unreachable; the check keeps a bug from storing nonsense.
_INT_RANGES: dict[str, dict[int, tuple[int, int]]] = {
    "follower_snapshots": {1: _UINT64, 3: _UINT64, 4: _UINT64},
    "follower_spike_alerts": {9: _INT64, 11: _UINT64, 14: _UINT64},
}

GrainKey = tuple[int, int, str, str, str]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


def engagement_rows(
    rows: Iterable[EngagementRow],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of ``media_windows`` and of ``creator_windows`` (the rollups, ``media_id ''``)."""
    media: list[tuple[Any, ...]] = []
    creators: list[tuple[Any, ...]] = []
    for row in rows:
        start = _utc(row.window_start_ms)
        if row.media_id:
            media.append((row.window_ms // 1000, start, row.campaign_id, row.creator_id,
                          row.media_id, *row.counts, row.unique_actors, row.reach, row.version))
        else:
            creators.append((row.window_ms // 1000, start, row.campaign_id, row.creator_id,
                             *row.counts, row.unique_actors, row.reach, row.version))
    return media, creators


def media_tuple(media: Media) -> tuple[Any, ...]:
    return (
        media.media_id,
        media.creator_id,
        media.campaign_id,
        media.media_product_type,
        _utc(media.published_at_ms),
        int(media.paid_partnership),
        media.caption or "",
    )


def snapshot_tuple(snapshot: FollowerSnapshot) -> tuple[Any, ...]:
    return (
        snapshot.creator_id,
        snapshot.observed_at_ms,
        _utc(snapshot.observed_at_ms),
        snapshot.followers_count,
        snapshot.follows_count,
    )


def alert_tuple(alert: SpikeAlert) -> tuple[Any, ...]:
    return (
        alert.alert_id,
        alert.creator_id,
        list(alert.campaign_ids),
        alert.status.value,
        alert.severity.value,
        alert.score,
        _utc(alert.started_at_ms),
        _utc(alert.updated_at_ms),
        None if alert.ended_at_ms is None else _utc(alert.ended_at_ms),
        alert.observed_growth,
        alert.expected_growth,
        alert.followers_count,
        [r.value for r in alert.reasons],
        [c.value for c in alert.innocent_causes],
        alert.version,
    )


@dataclass
class PendingWrites:
    """Everything decided since the last flush, with one row per engagement grain."""

    engagement: dict[GrainKey, EngagementRow]
    media: list[Media]
    snapshots: list[FollowerSnapshot]
    alerts: list[SpikeAlert]
    #: rows for the ``dead_letters`` table (letters the broker refused for good)
    dead_letters: list[tuple[Any, ...]] = field(default_factory=list)
    campaigns: CampaignWrites = field(default_factory=CampaignWrites)
    authenticity: AuthenticityWrites = field(default_factory=AuthenticityWrites)

    @classmethod
    def empty(cls) -> PendingWrites:
        return cls({}, [], [], [])

    def add_engagement(self, rows: Iterable[EngagementRow]) -> None:
        pending = self.engagement
        for row in rows:
            # Later rows of a grain supersede earlier ones: only the newest is written.
            pending[(row.window_ms, row.window_start_ms, row.campaign_id, row.creator_id,
                     row.media_id)] = row

    def __len__(self) -> int:
        return (len(self.engagement) + len(self.media) + len(self.snapshots) + len(self.alerts)
                + len(self.dead_letters) + len(self.campaigns) + len(self.authenticity))


class WarehouseSink:
    """Writes a flush's worth of rows, table by table, reporting each insert.

    Errors the warehouse will repeat for the same rows (type, overflow, parse: see
    :func:`is_data_error`) do not block the sink: the batch is bisected down to the rows
    that fail, those go to the ``dead_letters`` table, and ``write`` returns them as
    letters for the dead-letter topic. Any other error (connection, timeout) propagates:
    the caller keeps the rows and tries again later.
    """

    def __init__(
        self,
        warehouse: Warehouse,
        observe: InsertObserver | None = None,
        limits: LetterLimits | None = None,
    ) -> None:
        self.warehouse = warehouse
        self._observe = observe
        self._limits = limits or LetterLimits()
        #: whether the server can keep the hourly rollups (asked once, on the first write)
        self._refreshes: bool | None = None

    def write(self, pending: PendingWrites) -> list[Letter]:
        refused: list[tuple[str, tuple[Any, ...], str]] = []
        refused += self._insert("media", MEDIA_COLUMNS, [media_tuple(m) for m in pending.media])
        refused += self._insert(
            "follower_snapshots", SNAPSHOT_COLUMNS, [snapshot_tuple(s) for s in pending.snapshots]
        )
        media, creators = engagement_rows(pending.engagement.values())
        refused += self._insert("media_windows", MEDIA_WINDOW_COLUMNS, media)
        refused += self._insert("creator_windows", CREATOR_WINDOW_COLUMNS, creators)
        alerts = [alert_tuple(a) for a in pending.alerts]
        refused += self._insert("follower_spike_alerts", ALERT_COLUMNS, alerts)

        def insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
            refused.extend(self._insert(table, columns, rows))

        pending.campaigns.write(insert)
        pending.authenticity.write(insert)
        self._refresh_hour_rollups(pending)
        letters = [self._letter(table, row, error) for table, row, error in refused]
        now = time.time()
        rows = [*pending.dead_letters, *(table_row(x, x.detail, now) for x in letters)]
        for _table, row, error in self._insert("dead_letters", DEAD_LETTER_COLUMNS, rows):
            log.error("dead_letters row refused (%s): %r", error, row[:6])
        return letters

    def _refresh_hour_rollups(self, pending: PendingWrites) -> None:
        """Recompute the hourly rollups this flush touched (sinks/hour_rollups.py): a few
        INSERT ... SELECT on the server, after the rows they read are in."""
        if self._refreshes is None:
            self._refreshes = self.warehouse.server_version() >= hour_rollups.MIN_VERSION
        if not self._refreshes:
            return
        statements = hour_rollups.refresh_statements(
            (key[1] // 1000 for key in pending.engagement if key[0] == 3_600_000),
            (s.observed_at_ms for s in pending.snapshots))
        for sql in statements:
            started = time.perf_counter()
            self.warehouse.execute(sql)
            if self._observe is not None:
                self._observe(sql.split()[2], 0, time.perf_counter() - started)

    def _insert(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> list[tuple[str, tuple[Any, ...], str]]:
        """Insert ``rows``; returns those refused as bad data, with the reason."""
        if not rows:
            return []
        refused: list[tuple[str, tuple[Any, ...], str]] = []
        ranges = _INT_RANGES.get(table)
        if ranges:
            bad = [(row, col) for row in rows for col, (lo, hi) in ranges.items()
                   if not lo <= row[col] <= hi]
            if bad:
                out = {id(row) for row, _ in bad}
                refused = [(table, row, f"{columns[col]} out of range: {row[col]}")
                           for row, col in bad]
                rows = [row for row in rows if id(row) not in out]
        return refused + self._bisect(table, columns, rows)

    def _bisect(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> list[tuple[str, tuple[Any, ...], str]]:
        if not rows:
            return []
        started = time.perf_counter()
        try:
            self.warehouse.insert(table, columns, rows)
        except Exception as exc:
            if not is_data_error(exc):
                raise
            if len(rows) == 1:
                return [(table, rows[0], repr(exc)[:1000])]
            middle = len(rows) // 2
            return (self._bisect(table, columns, rows[:middle])
                    + self._bisect(table, columns, rows[middle:]))
        if self._observe is not None:
            self._observe(table, len(rows), time.perf_counter() - started)
        return []

    def _letter(self, table: str, row: tuple[Any, ...], error: str) -> Letter:
        """A refused row as a dead letter: the row as JSON, from ``warehouse.<table>``."""
        return dead_letter(DLQ_TOPIC, (f"warehouse.{table}", -1, -1), None, _row_json(row),
                           SINK_REJECTED, error, self._limits)


def _row_json(row: tuple[Any, ...]) -> bytes:
    """JSON of a row whatever it holds (integers past 64 bits as text)."""
    plain = [str(v) if isinstance(v, int) and not -(2**63) <= v < 2**64 else v for v in row]
    return orjson.dumps(plain, default=str)
