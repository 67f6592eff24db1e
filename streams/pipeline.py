"""One micro-batch of raw records in, rows for the warehouse and dead letters out.

Pure: no Kafka, no ClickHouse. An engine hands it what it read and writes what it gives
back, so the same code serves the worker, replay and the bench. What an engine needs
besides is offered here, never reached into: the positions it may commit, the state to
checkpoint, a restore, and a revoke of partitions that moved to another worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from campaignpulse.streams.campaigns.aggregator import CampaignKpiRow
from campaignpulse.streams.campaigns.definition import Campaign
from campaignpulse.streams.campaigns.stage import CampaignStage
from campaignpulse.streams.contests.performance import ContestMinute, ContestPerformance
from campaignpulse.streams.contests.tracker import ContestCalendarWithFallback
from campaignpulse.streams.contract import (
    ENGAGEMENT_KINDS,
    FOLLOWERS_TOPIC,
    INTERACTIONS_TOPIC,
    KINDS,
    FollowerSnapshot,
    Interaction,
    Media,
    Reason,
    Rejected,
    decode,
)
from campaignpulse.streams.contract_campaigns import CONTESTS_TOPIC
from campaignpulse.streams.disclosure import DisclosureAlert
from campaignpulse.streams.spikes.alert import SpikeAlert
from campaignpulse.streams.spikes.gate import EngagementGate
from campaignpulse.streams.spikes.monitor import BUCKET_MS, FollowerSpikeMonitor, drop_creators
from campaignpulse.streams.state.codec import (
    ChangelogRecord,
    RestoreReport,
    StateRestorer,
    checkpoint_records,
)
from campaignpulse.streams.windows import HOUR_MS, EngagementAggregator, EngagementRow, Outcome


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = -1
    #: the producer's wall clock at publication (header ``campaignpulse.published_at``),
    #: -1 when the record has none
    published_ms: int = -1


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
    #: topic -> accepted events whose time is ahead of their record's clock
    future: Counter[str] = field(default_factory=Counter)
    campaign_kpis: list[CampaignKpiRow] = field(default_factory=list)
    contest_performance: list[ContestPerformance] = field(default_factory=list)
    contest_minutes: list[ContestMinute] = field(default_factory=list)
    disclosure_alerts: list[DisclosureAlert] = field(default_factory=list)


class EngagementPipeline:
    """Decode, validate, de-duplicate and window a batch; bad records become dead letters."""

    def __init__(self, allowed_lateness_ms: int, spike_alert_level: float = 0.5) -> None:
        self.aggregator = EngagementAggregator(allowed_lateness_ms)
        self.spikes = FollowerSpikeMonitor(alert_level=spike_alert_level)
        self.gate = EngagementGate()
        self.campaigns = CampaignStage(allowed_lateness_ms)
        self.spikes.contests = ContestCalendarWithFallback(
            self.campaigns.contests, self.spikes.signals
        )
        #: per partition, (creator, hour, event id) of records re-read after a restart
        #: that the campaign stage took: it is not checkpointed, and rebuilds from them
        self._rebuilt: dict[int, set[tuple[str, int, str]]] = {}
        #: partition of creators seen on ig.followers / ig.media (for their checkpoints)
        self.partition_of: dict[str, int] = {}
        #: (topic, partition) -> the offset after the last record processed
        self.positions: dict[tuple[str, int], int] = {}

    def process(self, records: Iterable[RawRecord], now_ms: int) -> BatchResult:
        result = BatchResult()
        accepted = result.accepted
        newest = result.newest_event_ms
        aggregator = self.aggregator
        engagement: Counter[tuple[str, int]] = Counter()
        read_until: dict[int, int] = {}
        creator_partition: dict[str, int] = {}
        positions = self.positions
        for record in records:
            positions[(record.topic, record.partition)] = record.offset + 1
            clock = record_clock(record, now_ms)
            try:
                if record.topic == CONTESTS_TOPIC:
                    self.campaigns.define_contest(record.key, record.value)
                    accepted[(record.topic, "")] += 1
                    continue
                event = decode(record.topic, record.key, record.value, clock)
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
                outcome = aggregator.add(event, record.partition, record.offset, clock)
                if outcome is Outcome.ACCEPTED:
                    accepted[(INTERACTIONS_TOPIC, KINDS[event.kind])] += 1
                    self._rebuilt.pop(record.partition, None)  # past the re-read records
                    self._to_campaigns(event, record, result)
                    ts = event.occurred_at_ms
                    if event.kind in ENGAGEMENT_KINDS:
                        engagement[(event.creator_id, ts // BUCKET_MS)] += 1
                    # the gate, like the watermark, believes no event beyond the clock
                    if min(ts, clock) > read_until.get(record.partition, -1):
                        read_until[record.partition] = min(ts, clock)
                    creator_partition[event.creator_id] = record.partition
                elif outcome is Outcome.DUPLICATE:
                    result.duplicates += 1
                    continue
                elif outcome is Outcome.REPLAYED:  # decided before a restart
                    if self._rebuilds_campaigns(event, record.partition):
                        self._to_campaigns(event, record, result)
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
            if ts > clock:
                result.future[record.topic] += 1
            elif ts > newest.get(record.topic, -1):
                newest[record.topic] = ts
        result.engagement = aggregator.drain()
        spikes = self.spikes
        for media in result.media:
            spikes.observe_media(media)
        spikes.observe_engagement(dict(sorted(engagement.items(), key=lambda kv: kv[0][1])))
        self.gate.interactions_seen(creator_partition)
        for partition, newest_ms in read_until.items():
            self.gate.interactions_read(partition, newest_ms)
        result.alerts = self.judge_snapshots(now_ms)
        for media in result.media:
            disclosure = self.campaigns.media(media)
            if disclosure is not None:
                result.disclosure_alerts.append(disclosure)
        result.campaign_kpis, result.contest_performance, result.contest_minutes = (
            self.campaigns.drain()
        )
        return result

    def _to_campaigns(self, event: Interaction, record: RawRecord, result: BatchResult) -> None:
        try:
            self.campaigns.interaction(event, record.partition, record.offset, record.value)
        except Exception as exc:  # counted in engagement; campaigns lost it
            result.dead_letters.append(
                DeadLetter(record, Reason.INTERNAL_ERROR, f"campaigns: {exc!r}"[:200])
            )

    def _rebuilds_campaigns(self, event: Interaction, partition: int) -> bool:
        """Whether a re-read record goes to the campaign stage: records engagement decided
        before a restart are re-read from the first offset an open campaign or contest
        window needs; the stage takes each event once (per creator and event-time hour,
        as engagement de-duplicates) and none older than its own watermark allows."""
        ts = event.occurred_at_ms
        if ts < self.campaigns.kpis.newest(event.creator_id) - self.aggregator.allowed_lateness_ms:
            return False
        seen = self._rebuilt.setdefault(partition, set())
        key = (event.creator_id, ts - ts % HOUR_MS, event.event_id)
        if key in seen:
            return False
        seen.add(key)
        return True

    def judge_snapshots(self, now_ms: int, everything: bool = False) -> list[SpikeAlert]:
        """Spike alerts from the snapshots whose engagement has been read (or waited for)."""
        alerts = []
        for snapshot in self.gate.release(now_ms, everything):
            alert = self.spikes.observe_snapshot(snapshot)
            if alert is not None:
                alerts.append(alert)
        return alerts


    # -- what an engine needs besides -------------------------------------------------

    def define_campaign(
        self, key: bytes | None, value: bytes | None
    ) -> tuple[str, Campaign | None]:
        """Apply one ``ig.campaigns`` record; raises ``Rejected`` for a bad one."""
        return self.campaigns.define_campaign(key, value)

    def define_contest(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one ``ig.contests`` record; raises ``Rejected`` for a bad one."""
        self.campaigns.define_contest(key, value)

    def commit_positions(self) -> dict[tuple[str, int], int]:
        """The offsets an engine may commit: what was processed, except what is held.

        Engagement and spike state is checkpointed (commits follow the head); campaign
        KPI and contest windows are not yet: their first offsets hold commits, and a
        restart rebuilds them from there. Snapshots held by the gate hold theirs.
        """
        interaction_partitions = [p for t, p in self.positions if t == INTERACTIONS_TOPIC]
        needed: dict[int, int] = {}
        stage = self.campaigns
        for held_by in (stage.kpis.resume_offsets(interaction_partitions),
                        stage.contests.resume_offsets(interaction_partitions)):
            for partition, first in held_by.items():
                needed[partition] = min(first, needed.get(partition, first))
        held = self.gate.first_offsets()
        out = {}
        for (topic, partition), position in self.positions.items():
            if topic == INTERACTIONS_TOPIC:
                position = min(position, needed.get(partition, position))
            elif topic == FOLLOWERS_TOPIC:
                position = min(position, held.get(partition, position))
            out[(topic, partition)] = position
        return out

    def checkpoint(self, now_ms: int, idle_ms: int | None = None) -> list[ChangelogRecord]:
        """The state changed since the last checkpoint, as changelog records."""
        return checkpoint_records(self.aggregator, self.spikes, self.partition_of.get, now_ms,
                                  idle_ms)

    def restore(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> RestoreReport:
        """Rebuild the state of newly assigned partitions from their changelog records."""
        restorer = StateRestorer()
        restorer.add_all(records)
        return restorer.apply(self.aggregator, self.spikes)

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget the state of partitions that moved to another worker."""
        gone = set(partitions)
        leaving = {c for c, p in self.partition_of.items() if p in gone}
        leaving.update(c for c in self.spikes.creators()
                       if self.aggregator.partition_of(c) in gone)
        drop_creators(self.spikes, leaving)
        for c in leaving:
            self.partition_of.pop(c, None)
        self.aggregator.drop_partitions(gone)
        self.gate.drop_partitions(gone)
        self.campaigns.kpis.drop_partitions(gone)
        self.campaigns.contests.drop_partitions(gone)
        self.positions = {tp: o for tp, o in self.positions.items() if tp[1] not in gone}

    def open_windows(self) -> int:
        return self.aggregator.open_windows()

    def creator_view(self, creator_id: str) -> dict[str, object] | None:
        """What this worker holds of one creator (windows, spike state), read only."""
        windows = self.aggregator.view(creator_id)
        spikes = self.spikes.view(creator_id)
        if windows is None and spikes is None:
            return None
        return {"creator_id": creator_id, "engagement": windows, "followers": spikes}


def record_clock(record: RawRecord, now_ms: int) -> int:
    """The wall clock an event of this record is judged by.

    The producer's clock at publication when the record carries it, so a replay decides
    as the live run did; never ahead of ``now_ms`` (the worker's clock), so a producer
    whose clock runs fast cannot move watermarks into the future either. Records without
    it (foreign producers) are judged by ``now_ms``.
    """
    published = record.published_ms
    return published if 0 <= published <= now_ms else now_ms
