"""One micro-batch of raw records in, rows for the warehouse and dead letters out.

Pure: no Kafka, no ClickHouse. The runtime hands it what ``getmany`` returned and
writes what it gives back, so the same code serves the worker, the demo and the bench.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from campaignpulse.streams.contract import (
    ENGAGEMENT_KINDS,
    INTERACTIONS_TOPIC,
    KINDS,
    FollowerSnapshot,
    Interaction,
    Media,
    Reason,
    Rejected,
    decode,
)
from campaignpulse.streams.spikes.alert import SpikeAlert
from campaignpulse.streams.spikes.gate import EngagementGate
from campaignpulse.streams.spikes.monitor import BUCKET_MS, FollowerSpikeMonitor
from campaignpulse.streams.windows import EngagementAggregator, EngagementRow, Outcome


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = -1


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: RawRecord
    reason: Reason
    detail: str


@dataclass(slots=True)
class BatchResult:
    engagement: list[EngagementRow] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    snapshots: list[FollowerSnapshot] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    alerts: list[SpikeAlert] = field(default_factory=list)
    #: (topic, kind) -> accepted events; kind is "" outside ig.interactions.
    accepted: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicates: int = 0
    #: topic -> newest event time accepted in this batch, for the lag gauge.
    newest_event_ms: dict[str, int] = field(default_factory=dict)


class EngagementPipeline:
    """Decode, validate, de-duplicate and window a batch; bad records become dead letters."""

    def __init__(self, allowed_lateness_ms: int, spike_alert_level: float = 0.5) -> None:
        self.aggregator = EngagementAggregator(allowed_lateness_ms)
        self.spikes = FollowerSpikeMonitor(alert_level=spike_alert_level)
        self.gate = EngagementGate()
        #: partition of creators seen on ig.followers / ig.media (for their checkpoints)
        self.partition_of: dict[str, int] = {}

    def process(self, records: Iterable[RawRecord], now_ms: int) -> BatchResult:
        result = BatchResult()
        accepted = result.accepted
        newest = result.newest_event_ms
        aggregator = self.aggregator
        engagement: Counter[tuple[str, int]] = Counter()
        read_until: dict[int, int] = {}
        for record in records:
            try:
                event = decode(record.topic, record.key, record.value, now_ms)
            except Rejected as rejected:
                result.dead_letters.append(
                    DeadLetter(record, rejected.reason, rejected.detail)
                )
                continue
            except Exception as exc:  # a bug must cost one record, not the worker
                result.dead_letters.append(
                    DeadLetter(record, Reason.INTERNAL_ERROR, repr(exc)[:200])
                )
                continue
            if isinstance(event, Interaction):
                outcome = aggregator.add(event, record.partition, record.offset)
                if outcome is Outcome.ACCEPTED:
                    accepted[(INTERACTIONS_TOPIC, KINDS[event.kind])] += 1
                    ts = event.occurred_at_ms
                    if event.kind in ENGAGEMENT_KINDS:
                        engagement[(event.creator_id, ts // BUCKET_MS)] += 1
                    if ts > read_until.get(record.partition, -1):
                        read_until[record.partition] = ts
                elif outcome is Outcome.DUPLICATE:
                    result.duplicates += 1
                    continue
                elif outcome is Outcome.REPLAYED:  # decided before a restart
                    continue
                else:
                    result.dead_letters.append(
                        DeadLetter(record, Reason.LATE, "older than the allowed lateness")
                    )
                    continue
            elif isinstance(event, FollowerSnapshot):
                result.snapshots.append(event)
                self.partition_of[event.creator_id] = record.partition
                self.gate.hold(record.partition, record.offset, event, now_ms)
                accepted[(record.topic, "")] += 1
                ts = event.observed_at_ms
            else:
                result.media.append(event)
                self.partition_of[event.creator_id] = record.partition
                accepted[(record.topic, "")] += 1
                ts = event.published_at_ms
            if ts > newest.get(record.topic, -1):
                newest[record.topic] = ts
        result.engagement = aggregator.drain()
        spikes = self.spikes
        for media in result.media:
            spikes.observe_media(media)
        spikes.observe_engagement(dict(sorted(engagement.items(), key=lambda kv: kv[0][1])))
        for partition, newest_ms in read_until.items():
            self.gate.interactions_read(partition, newest_ms)
        result.alerts = self.judge_snapshots(now_ms)
        return result

    def judge_snapshots(self, now_ms: int, everything: bool = False) -> list[SpikeAlert]:
        """Spike alerts from the snapshots whose engagement has been read (or waited for)."""
        alerts = []
        for snapshot in self.gate.release(now_ms, everything):
            alert = self.spikes.observe_snapshot(snapshot)
            if alert is not None:
                alerts.append(alert)
        return alerts
