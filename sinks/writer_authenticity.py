"""Rows of the authenticity tables (``sinks/schema_authenticity.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from campaignpulse.sinks.schema_authenticity import (
    ALERT_COLUMNS,
    AUDIENCE_COLUMNS,
    BOT_COLUMNS,
    BUCKET_COLUMNS,
    CLUSTER_COLUMNS,
    RING_COLUMNS,
)
from campaignpulse.streams.authenticity.alerts import AuthenticityAlert
from campaignpulse.streams.authenticity.followers import AudienceRow
from campaignpulse.streams.authenticity.outputs import (
    AuthenticityRow,
    BotAccount,
    CopyPasteCluster,
)
from campaignpulse.streams.authenticity.pods import Ring
from campaignpulse.streams.authenticity.stage import AuthenticityOutput

Insert = Callable[[str, Sequence[str], list[tuple[Any, ...]]], object]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


@dataclass
class AuthenticityWrites:
    """What a flush writes for authenticity (rings with the bucket they were seen at)."""

    rows: list[AuthenticityRow] = field(default_factory=list)
    rings: list[tuple[int, Ring]] = field(default_factory=list)
    bots: list[BotAccount] = field(default_factory=list)
    clusters: list[CopyPasteCluster] = field(default_factory=list)
    audience: list[AudienceRow] = field(default_factory=list)
    alerts: list[AuthenticityAlert] = field(default_factory=list)

    def add(self, out: AuthenticityOutput) -> None:
        self.rows.extend(out.rows)
        self.rings.extend(zip(out.ring_seen_ms, out.rings, strict=True))
        self.bots.extend(out.bots)
        self.clusters.extend(out.clusters)
        self.audience.extend(out.audience)
        self.alerts.extend(out.alerts)

    def __len__(self) -> int:
        return (len(self.rows) + len(self.rings) + len(self.bots) + len(self.clusters)
                + len(self.audience) + len(self.alerts))

    def write(self, insert: Insert) -> None:
        insert("authenticity_buckets", BUCKET_COLUMNS, [bucket_tuple(r) for r in self.rows])
        insert("authenticity_rings", RING_COLUMNS,
               [ring_tuple(at, ring) for at, ring in self.rings])
        insert("authenticity_bots", BOT_COLUMNS, [bot_tuple(b) for b in self.bots])
        insert("authenticity_clusters", CLUSTER_COLUMNS,
               [cluster_tuple(c) for c in self.clusters])
        insert("audience_quality", AUDIENCE_COLUMNS, [audience_tuple(a) for a in self.audience])
        insert("authenticity_alerts", ALERT_COLUMNS, [alert_tuple(a) for a in self.alerts])


def bucket_tuple(r: AuthenticityRow) -> tuple[Any, ...]:
    return (_utc(r.bucket_start_ms), r.creator_id, r.media_id, r.campaign_id, *r.raw,
            *r.authentic, *r.excluded, r.events, r.events)


def ring_tuple(seen_ms: int, ring: Ring) -> tuple[Any, ...]:
    return (ring.ring_id, _utc(seen_ms), list(ring.members), list(ring.targets),
            ring.shared_media, 1)


def bot_tuple(b: BotAccount) -> tuple[Any, ...]:
    return (b.actor_id, _utc(b.bucket_start_ms), list(b.reasons), list(b.creators), 1)


def cluster_tuple(c: CopyPasteCluster) -> tuple[Any, ...]:
    return (c.cluster_id, _utc(c.bucket_start_ms), c.example, list(c.accounts),
            list(c.creators), c.comments, 1)


def audience_tuple(a: AudienceRow) -> tuple[Any, ...]:
    return (a.creator_id, _utc(a.observed_at_ms), a.sampled, a.flagged, a.apparent, a.share,
            a.low, a.high, a.sampled)


def alert_tuple(a: AuthenticityAlert) -> tuple[Any, ...]:
    return (a.alert_id, a.campaign_id, a.creator_id, a.status, list(a.reasons), a.pod_share,
            a.bot_share, a.inauthentic_low, a.engagements, _utc(a.observed_at_ms), a.version)
