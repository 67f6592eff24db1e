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

from campaignpulse.streams.authenticity.feed import AuthenticityFeed
from campaignpulse.streams.authenticity.stage import AuthenticityOutput
from campaignpulse.streams.campaigns.aggregator import CampaignKpiRow
from campaignpulse.streams.campaigns.definition import Campaign
from campaignpulse.streams.campaigns.stage import CampaignStage
from campaignpulse.streams.clock import record_clock
from campaignpulse.streams.contests.performance import ContestMinute, ContestPerformance
from campaignpulse.streams.contests.tracker import ContestCalendarWithFallback
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
from campaignpulse.streams.contract_authenticity import (
    FOLLOWER_SAMPLES_TOPIC,
    decode_follower_sample,
)
from campaignpulse.streams.contract_campaigns import CONTESTS_TOPIC
from campaignpulse.streams.disclosure import DisclosureAlert
from campaignpulse.streams.spikes.alert import SpikeAlert
from campaignpulse.streams.spikes.gate import EngagementGate
from campaignpulse.streams.spikes.monitor import BUCKET_MS, FollowerSpikeMonitor
from campaignpulse.streams.state.store import Positions, RestoreReport, Store
from campaignpulse.streams.state.tables import ChangelogRecord
from campaignpulse.streams.windows import EngagementAggregator, EngagementRow, Outcome


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
    authenticity: AuthenticityOutput = field(default_factory=AuthenticityOutput)


class EngagementPipeline:
    """Decode, validate, de-duplicate and window a batch; bad records become dead letters.

    Every operator keeps its state in one store (``self.store``); a checkpoint is the
    store's changes plus the positions they cover.
    """

    def __init__(self, allowed_lateness_ms: int, spike_alert_level: float = 0.5) -> None:
        store = self.store = Store()
        self.aggregator = EngagementAggregator(allowed_lateness_ms, store)
        self.spikes = FollowerSpikeMonitor(alert_level=spike_alert_level, store=store)
        self.gate = EngagementGate(store=store,
                                   interactions_partition=self.aggregator.partition_of)
        self.campaigns = CampaignStage(allowed_lateness_ms, store, self.aggregator.watermark)
        self.spikes.contests = ContestCalendarWithFallback(
            self.campaigns.contests, self.spikes.signals
        )
        self.authenticity = AuthenticityFeed(allowed_lateness_ms, store,
                                             self.campaigns.kpis.campaigns)
        #: (topic, partition) -> the offset after the last record processed
        self.positions: Positions = {}

    def inputs_at_end(self, partitions: Iterable[tuple[str, int]]) -> None:
        """The engine's word on which held input partitions (topic, partition) it read to
        their end (high watermark), counting the batch it is about to process: the
        engagement gate stops waiting on such interactions partitions, the authenticity
        stage's watermark on any such input partition."""
        at_end = list(partitions)
        self.gate.interactions_at_end(p for t, p in at_end if t == INTERACTIONS_TOPIC)
        self.authenticity.inputs_at_end(at_end)

    def process(self, records: Iterable[RawRecord], now_ms: int) -> BatchResult:
        result = BatchResult()
        accepted = result.accepted
        newest = result.newest_event_ms
        aggregator = self.aggregator
        engagement: Counter[tuple[str, int]] = Counter()
        read_until: dict[int, int] = {}
        creator_partition: dict[str, int] = {}
        media_partitions: list[int] = []
        positions = self.positions
        for record in records:
            positions[(record.topic, record.partition)] = record.offset + 1
            clock = record_clock(record.published_ms, record.timestamp_ms)
            try:
                if record.topic == CONTESTS_TOPIC:
                    self.campaigns.define_contest(record.key, record.value)
                    accepted[(record.topic, "")] += 1
                    continue
                if record.topic == FOLLOWER_SAMPLES_TOPIC:
                    sample = decode_follower_sample(record.key, record.value, clock)
                    self.authenticity.sample(sample, record.partition)
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
                ts = event.occurred_at_ms
                outcome = aggregator.add(event, record.partition, clock)
                if outcome is Outcome.ACCEPTED:
                    accepted[(INTERACTIONS_TOPIC, KINDS[event.kind])] += 1
                    self._to_campaigns(event, record, result)
                    self.authenticity.interaction(event, record.partition, record.value)
                    if event.kind in ENGAGEMENT_KINDS:
                        engagement[(event.creator_id, ts // BUCKET_MS)] += 1
                    # the gate, like the watermark, believes no event beyond the clocks
                    claimed = aggregator.watermark(event.creator_id)
                    if claimed > read_until.get(record.partition, -1):
                        read_until[record.partition] = claimed
                    creator_partition[event.creator_id] = record.partition
                elif outcome is Outcome.DUPLICATE:
                    result.duplicates += 1
                    continue
                else:
                    result.dead_letters.append(
                        DeadLetter(record, Reason.LATE, "older than the allowed lateness")
                    )
                    continue
            elif isinstance(event, FollowerSnapshot):
                result.snapshots.append(event)
                self.gate.hold(record.partition, record.offset, event, now_ms)
                accepted[(record.topic, "")] += 1
                ts = event.observed_at_ms
            else:
                result.media.append(event)
                media_partitions.append(record.partition)
                self.authenticity.media(event, record.partition)
                accepted[(record.topic, "")] += 1
                ts = event.published_at_ms
            if 0 <= clock < ts:
                result.future[record.topic] += 1
            elif ts > newest.get(record.topic, -1):
                newest[record.topic] = ts
        result.engagement = aggregator.drain(now_ms)
        spikes = self.spikes
        for media, partition in zip(result.media, media_partitions, strict=True):
            spikes.observe_media(media, partition)
        spikes.observe_engagement(dict(sorted(engagement.items(), key=lambda kv: kv[0][1])),
                                  creator_partition)
        for partition, newest_ms in read_until.items():
            self.gate.interactions_read(partition, newest_ms)
        result.alerts = self.judge_snapshots(now_ms)
        for media, partition in zip(result.media, media_partitions, strict=True):
            disclosure = self.campaigns.media(media, partition)
            if disclosure is not None:
                result.disclosure_alerts.append(disclosure)
        result.campaign_kpis, result.contest_performance, result.contest_minutes = (
            self.campaigns.drain()
        )
        result.authenticity = self.authenticity.drain(now_ms)
        return result

    def _to_campaigns(self, event: Interaction, record: RawRecord, result: BatchResult) -> None:
        try:
            self.campaigns.interaction(event, record.partition, record.value)
        except Exception as exc:  # counted in engagement; campaigns lost it
            result.dead_letters.append(
                DeadLetter(record, Reason.INTERNAL_ERROR, f"campaigns: {exc!r}"[:200])
            )

    def judge_snapshots(self, now_ms: int, everything: bool = False) -> list[SpikeAlert]:
        """Spike alerts from the snapshots whose engagement has been read (or waited for)."""
        alerts = []
        for snapshot, partition in self.gate.release(now_ms, everything):
            alert = self.spikes.observe_snapshot(snapshot, partition)
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

    def read_to(self, offsets: Positions) -> None:
        """The engine's consumer stands at these offsets, every record before them handed
        to ``process``: offsets that hold no record (transaction markers, records
        compacted or deleted away) are covered too, so they are checkpointed and committed
        like the others and a partition's lag reaches 0."""
        positions = self.positions
        for tp, offset in offsets.items():
            if offset > positions.get(tp, -1):
                positions[tp] = offset

    def commit_positions(self) -> Positions:
        """The offsets an engine may commit once a checkpoint is durable: every state
        is in the store, so commits follow the head whatever is open."""
        return dict(self.positions)

    def checkpoint(self, now_ms: int, idle_ms: int | None = None) -> list[ChangelogRecord]:
        """The state changed since the last checkpoint and the positions it covers, as
        changelog records. Idle creators leave memory first (``idle_ms``)."""
        if idle_ms is not None:
            self.aggregator.retire_idle(now_ms, idle_ms)
        self.authenticity.checkpoint()
        return self.store.changes(self.positions)

    def restore(self, partition: int,
                records: Iterable[tuple[bytes | None, bytes | None]]) -> RestoreReport:
        """Rebuild the state of a newly assigned partition from its changelog records; the
        report's positions are where reading resumes (none: from the committed offsets)."""
        report = self.store.restore(partition, records)
        self.positions.update(report.positions)
        self.authenticity.assigned(partition)
        return report

    def take_refused(self) -> int:
        """Restored state that did not decode when first read, since the last call (see
        ``Table`` lazy): counted as a restore's refusals are."""
        return self.store.take_refused()

    def revoke(self, partitions: Iterable[int]) -> None:
        """Forget the state of partitions that moved to another worker."""
        gone = set(partitions)
        self.store.drop(gone)
        self.authenticity.revoked(gone)
        self.positions = {tp: o for tp, o in self.positions.items() if tp[1] not in gone}

    def open_windows(self) -> int:
        """Open windows in memory (a restored creator's are built at its next event)."""
        return self.aggregator.windows_in_memory()

    def creator_view(self, creator_id: str) -> dict[str, object] | None:
        """What this worker holds of one creator (windows, spike state), read only."""
        windows = self.aggregator.view(creator_id)
        spikes = self.spikes.view(creator_id)
        if windows is None and spikes is None:
            return None
        return {"creator_id": creator_id, "engagement": windows, "followers": spikes}

