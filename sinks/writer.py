"""Turns pipeline output into warehouse inserts.

Idempotency lives in the schema: every table is a ReplacingMergeTree keyed by its grain,
and engagement rows carry the count of distinct events as their version. Writing the
same rows again, or a replay's rows, converges to the same current row per grain.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from campaignpulse.sinks.schema import (
    ALERT_COLUMNS,
    ENGAGEMENT_COLUMNS,
    MEDIA_COLUMNS,
    SNAPSHOT_COLUMNS,
)
from campaignpulse.sinks.warehouse import Warehouse
from campaignpulse.sinks.writer_campaigns import CampaignWrites
from campaignpulse.streams.contract import FollowerSnapshot, Media
from campaignpulse.streams.spikes.alert import SpikeAlert
from campaignpulse.streams.windows import EngagementRow

#: Called after each insert with (table, rows, seconds): the shell's metrics hook.
InsertObserver = Callable[[str, int, float], None]

GrainKey = tuple[int, int, str, str, str]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


def engagement_tuple(row: EngagementRow) -> tuple[Any, ...]:
    return (
        row.window_ms // 1000,
        _utc(row.window_start_ms),
        row.campaign_id,
        row.creator_id,
        row.media_id,
        *row.counts,
        row.unique_actors,
        row.reach,
        row.version,
    )


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
        _utc(alert.ended_at_ms),
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
    campaigns: CampaignWrites = field(default_factory=CampaignWrites)

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
                + len(self.campaigns))


class WarehouseSink:
    """Writes a flush's worth of rows, table by table, reporting each insert."""

    def __init__(self, warehouse: Warehouse, observe: InsertObserver | None = None) -> None:
        self.warehouse = warehouse
        self._observe = observe

    def write(self, pending: PendingWrites) -> None:
        self._insert("media", MEDIA_COLUMNS, [media_tuple(m) for m in pending.media])
        self._insert(
            "follower_snapshots", SNAPSHOT_COLUMNS, [snapshot_tuple(s) for s in pending.snapshots]
        )
        self._insert(
            "engagement_windows",
            ENGAGEMENT_COLUMNS,
            [engagement_tuple(r) for r in pending.engagement.values()],
        )
        alerts = [alert_tuple(a) for a in pending.alerts]
        self._insert("follower_spike_alerts", ALERT_COLUMNS, alerts)
        pending.campaigns.write(self._insert)

    def _insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        started = time.perf_counter()
        self.warehouse.insert(table, columns, rows)
        if self._observe is not None:
            self._observe(table, len(rows), time.perf_counter() - started)
