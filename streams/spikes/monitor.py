"""Follower spikes per creator: score each snapshot, explain it, keep one alert per spike.

The detector says *how unusual* a creator's follower growth rate is; this module says
*why it matters*. A spike opens an alert once the score reaches the alert level and the
jump is material; later snapshots extend it (same alert id, a new version) until growth
is back to normal, and a drop that follows a resolved spike is added to it as evidence.
Only event time is used, so a replay produces the same alerts with the same ids.
"""

from __future__ import annotations

import contextlib
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import replace

import msgspec

from campaignpulse.streams.contract import FollowerSnapshot, Media
from campaignpulse.streams.spikes.alert import InnocentCause, Reason, Severity, SpikeAlert, Status
from campaignpulse.streams.spikes.causes import CaptionSignals, ContestCalendar
from campaignpulse.streams.spikes.detector import STATE_LENGTH, AnomalyDetector, DetectorParams
from campaignpulse.streams.state.records import AlertState, MonitorState
from campaignpulse.streams.state.store import Store

HOUR_MS = 3_600_000
BUCKET_MS = 10 * 60_000
RECENT_BUCKETS = 3
HISTORY_BUCKETS = 12
#: a jump must be at least this many followers, or this share of the audience
MIN_JUMP = 50
MIN_JUMP_SHARE = 0.01
#: growth this many times the baseline, with a high score, is a spike
GROWTH_FACTOR = 3.0
#: engagement above its baseline, per new follower: a viral post brings far more
#: engagement than followers; bought followers bring none
VIRAL_ENGAGEMENT_PER_FOLLOWER = 0.5
FLAT_ENGAGEMENT_PER_FOLLOWER = 0.1
DROP_SHARE = 0.1
QUIET_SNAPSHOTS_TO_RESOLVE = 2
REMEMBER_RESOLVED_MS = 24 * HOUR_MS
MAX_CAMPAIGNS = 5
SUSPICIOUS = frozenset(Reason) - {Reason.GROWTH_ABOVE_BASELINE}
FOLLOWER_GROWTH = DetectorParams(
    range_clip=5.0, learn_clip=5.0, step_clip=5.0, range_detrend=False,
)


#: the sizes follower shops sell
PACKAGES = (1_000, 2_000, 2_500, 3_000, 5_000, 10_000, 15_000, 20_000, 25_000, 50_000)


def is_round_jump(growth: int) -> bool:
    """A package size, give or take 1% (a few real follows or unfollows on top)."""
    return any(abs(growth - size) <= 0.01 * size for size in PACKAGES)


class _Creator:
    __slots__ = (
        "alert", "alert_gain", "baseline", "campaigns", "detector", "engagement",
        "first_bucket", "follows", "followers", "last_ms", "newest_bucket", "quiet", "snapshots",
    )

    def __init__(self) -> None:
        #: a detector read back from a changelog that kept it inside this state (the
        #: release before table ``detectors``); moved there at its next snapshot
        self.detector: AnomalyDetector | None = None
        self.snapshots = 0
        self.last_ms = 0
        self.followers = 0
        self.follows = 0
        self.baseline = 0.0  # followers per hour
        #: engagement per 10-minute bucket of event time, the last two hours, in a ring
        self.engagement = [0] * HISTORY_BUCKETS
        self.first_bucket = -1
        self.newest_bucket = -1
        self.campaigns: tuple[str, ...] = ()
        self.alert: SpikeAlert | None = None
        self.alert_gain = 0
        self.quiet = 0

    def add_engagement(self, bucket: int, count: int) -> None:
        ring = self.engagement
        if self.first_bucket < 0:
            self.first_bucket = self.newest_bucket = bucket
        if bucket > self.newest_bucket:
            for stale in range(max(self.newest_bucket + 1, bucket - HISTORY_BUCKETS + 1),
                               bucket + 1):
                ring[stale % HISTORY_BUCKETS] = 0
            self.newest_bucket = bucket
        if bucket > self.newest_bucket - HISTORY_BUCKETS and bucket >= self.first_bucket:
            ring[bucket % HISTORY_BUCKETS] += count

    def extra_engagement(self, at_ms: int) -> float:
        """Engagement in the half hour up to ``at_ms`` above this creator's usual level.

        Read by event time, so it does not matter which topic the worker read further.
        """
        at = at_ms // BUCKET_MS
        oldest = max(self.first_bucket, self.newest_bucket - HISTORY_BUCKETS + 1)
        if self.first_bucket < 0 or at < oldest:
            return 0.0
        ring = self.engagement
        recent = sum(ring[b % HISTORY_BUCKETS]
                     for b in range(max(oldest, at - RECENT_BUCKETS + 1),
                                    min(at, self.newest_bucket) + 1))
        before = range(oldest, min(at - RECENT_BUCKETS, self.newest_bucket) + 1)
        usual = sum(ring[b % HISTORY_BUCKETS] for b in before) / len(before) if before else 0.0
        return recent - RECENT_BUCKETS * usual


def new_detector(alert_level: float) -> AnomalyDetector:
    # no hold: the alert lifecycle already merges an incident's snapshots, and a
    # second package bought during the hold must still score in full. Outliers are
    # learned clipped: a bought package is never a creator's normal, so a second one
    # of the same size is as new as the first (NAB's default lets bursts recur)
    return AnomalyDetector(alert_level=alert_level, hold_intervals=0.0, params=FOLLOWER_GROWTH)


class FollowerSpikeMonitor:
    """Bounded state per creator; feed it media, engagement and snapshots in a batch.

    Each creator's state is a value of the store's table ``spikes`` (baseline, engagement
    ring, open alert), on the partition its records come from. Its detector (642 numbers,
    7.6 KB live) is a value of table ``detectors``, made at its first scored snapshot and
    written only when a snapshot taught it something: engagement, which changes far more
    often, rewrites only the small state. A restore keeps it as bytes until the
    creator's next snapshot (a lazy table): most restored detectors are not read soon.
    """

    def __init__(self, alert_level: float = 0.5, contests: ContestCalendar | None = None,
                 store: Store | None = None) -> None:
        store = store if store is not None else Store()
        self.alert_level = alert_level
        self.signals = CaptionSignals(store=store)
        self.contests: ContestCalendar = contests if contests is not None else self.signals
        self._table = store.table("spikes", _encode_creator, self._decode_creator)
        self._creators = self._table.values
        self._detectors = store.table("detectors", _encode_detector, self._decode_detector,
                                      lazy=True)

    def creators(self) -> list[str]:
        return list(self._creators)

    def view(self, creator_id: str) -> dict[str, object] | None:
        """A creator's follower state and open alert, read only; None when not held here."""
        state = self._creators.get(creator_id)
        if state is None:
            return None
        alert = state.alert
        return {
            "followers": state.followers, "follows": state.follows,
            "snapshots": state.snapshots, "last_snapshot_ms": state.last_ms,
            "baseline_followers_per_hour": state.baseline,
            "engagement_above_usual": state.extra_engagement(state.last_ms),
            "alert": None if alert is None else {
                "alert_id": alert.alert_id, "status": str(alert.status),
                "severity": str(alert.severity), "score": alert.score,
                "started_at_ms": alert.started_at_ms},
        }

    def _decode_creator(self, raw: bytes) -> _Creator:
        return import_state(_state_decoder.decode(raw), self.alert_level)

    def _decode_detector(self, raw: bytes) -> AnomalyDetector:
        return AnomalyDetector.from_state(_detector_state(raw),
                                          alert_level=self.alert_level, hold_intervals=0.0,
                                          params=FOLLOWER_GROWTH)

    def detector(self, creator_id: str) -> AnomalyDetector | None:
        """The creator's detector; None before its first scored snapshot."""
        return self._detectors.get(creator_id)

    def _learning(self, creator_id: str, state: _Creator, partition: int) -> AnomalyDetector:
        """The creator's detector, about to learn a snapshot (so written next checkpoint)."""
        detector = self._detectors.get(creator_id)
        if detector is None:
            detector = state.detector or new_detector(self.alert_level)
            state.detector = None
        self._detectors.put(creator_id, detector, partition)
        return detector

    def _creator(self, creator_id: str, partition: int) -> _Creator:
        state = self._creators.get(creator_id)
        if state is None:
            state = _Creator()
            self._table.put(creator_id, state, partition)
        else:
            self._table.touch(creator_id)
        return state

    def observe_media(self, media: Media, partition: int) -> None:
        if media.caption:
            self.signals.observe_caption(
                media.creator_id, media.media_id, media.caption, media.published_at_ms,
                partition,
            )
        if media.campaign_id:
            state = self._creator(media.creator_id, partition)
            if media.campaign_id not in state.campaigns:
                state.campaigns = (*state.campaigns, media.campaign_id)[-MAX_CAMPAIGNS:]

    def observe_engagement(self, counts: Mapping[tuple[str, int], int],
                           partitions: Mapping[str, int]) -> None:
        """``counts``: (creator id, event time // BUCKET_MS) -> engagements, oldest first;
        ``partitions``: creator id -> the partition its interactions came from."""
        for (creator_id, bucket), n in counts.items():
            self._creator(creator_id, partitions[creator_id]).add_engagement(bucket, n)

    def observe_snapshot(self, snap: FollowerSnapshot, partition: int = 0) -> SpikeAlert | None:
        """Returns the alert this snapshot opened or changed, if any."""
        state = self._creator(snap.creator_id, partition)
        state.snapshots += 1
        if state.snapshots == 1:
            self._remember(state, snap)
            return None
        if snap.observed_at_ms <= state.last_ms:  # out of order: stored, but not scored
            return None
        hours = (snap.observed_at_ms - state.last_ms) / HOUR_MS
        growth = snap.followers_count - state.followers
        score = self._learning(snap.creator_id, state, partition).update(
            snap.observed_at_ms, growth / hours)
        expected = max(state.baseline, 0.0) * hours
        material = growth >= max(MIN_JUMP, MIN_JUMP_SHARE * state.followers)
        spiking = material and growth > GROWTH_FACTOR * expected
        follows_jump = abs(snap.follows_count - state.follows) >= max(100, 0.2 * state.follows)
        alert = state.alert
        out: SpikeAlert | None = None
        if alert is not None and alert.status is Status.RESOLVED:
            if snap.observed_at_ms - (alert.ended_at_ms or 0) > REMEMBER_RESOLVED_MS:
                state.alert = alert = None
            elif -growth >= DROP_SHARE * state.alert_gain:
                out = self._revise(state, alert, snap, [Reason.LATER_DROP], score)
        if alert is None or alert.status is Status.RESOLVED:
            if out is None and spiking and score >= self.alert_level:
                out = self._open(state, snap, growth, expected, score, follows_jump)
        elif -growth >= DROP_SHARE * state.alert_gain:
            out = self._revise(state, alert, snap, [Reason.LATER_DROP], score)
        elif spiking:
            state.quiet = 0
            state.alert_gain += growth
            # a package bought while a spike is open is evidence too
            extra = state.extra_engagement(snap.observed_at_ms)
            evidence = _evidence(extra, growth, state.alert_gain, follows_jump)
            out = self._revise(state, alert, snap, evidence, score, expected)
        else:
            state.quiet += 1
            if state.quiet >= QUIET_SNAPSHOTS_TO_RESOLVE:
                out = state.alert = replace(
                    alert, status=Status.RESOLVED, ended_at_ms=snap.observed_at_ms,
                    updated_at_ms=snap.observed_at_ms, version=alert.version + 1,
                )
        ordinary = not material and (state.alert is None or state.alert.status is Status.RESOLVED)
        if out is None and ordinary:  # a jump, alerted or not, must not become the baseline
            w = max(0.05, 1.0 / state.snapshots)
            state.baseline += w * (growth / hours - state.baseline)
        self._remember(state, snap)
        return out

    @staticmethod
    def _remember(state: _Creator, snap: FollowerSnapshot) -> None:
        state.last_ms = snap.observed_at_ms
        state.followers = snap.followers_count
        state.follows = snap.follows_count

    def _open(
        self, state: _Creator, snap: FollowerSnapshot, growth: int, expected: float,
        score: float, follows_jump: bool,
    ) -> SpikeAlert:
        extra = state.extra_engagement(snap.observed_at_ms)
        reasons = [Reason.GROWTH_ABOVE_BASELINE, *_evidence(extra, growth, growth, follows_jump)]
        causes = []
        if self.contests.active(snap.creator_id, snap.observed_at_ms, growth) is not None:
            causes.append(InnocentCause.CONTEST_ACTIVATION)
        if extra >= VIRAL_ENGAGEMENT_PER_FOLLOWER * growth:
            causes.append(InnocentCause.VIRAL_POST)
        if self.signals.shoutout(snap.creator_id, snap.observed_at_ms):
            causes.append(InnocentCause.SHOUTOUT)
        state.alert_gain = growth
        state.quiet = 0
        t = snap.observed_at_ms
        alert = state.alert = SpikeAlert(
            alert_id=f"{snap.creator_id}-{t}", creator_id=snap.creator_id,
            campaign_ids=state.campaigns, status=Status.FIRING,
            severity=_severity(reasons, causes), score=round(score, 6), started_at_ms=t,
            updated_at_ms=t, ended_at_ms=None, observed_growth=growth,
            expected_growth=round(expected, 3), followers_count=snap.followers_count,
            reasons=tuple(reasons), innocent_causes=tuple(causes), version=1,
        )
        return alert

    @staticmethod
    def _revise(
        state: _Creator, alert: SpikeAlert, snap: FollowerSnapshot, evidence: list[Reason],
        score: float, expected: float = 0.0,
    ) -> SpikeAlert | None:
        reasons = (*alert.reasons, *(r for r in evidence if r not in alert.reasons))
        growth = state.alert_gain if alert.status is Status.FIRING else alert.observed_growth
        if reasons == alert.reasons and growth == alert.observed_growth:
            return None
        revised = state.alert = replace(
            alert, reasons=reasons, severity=_severity(reasons, alert.innocent_causes),
            score=round(max(alert.score, score), 6), observed_growth=growth,
            expected_growth=round(alert.expected_growth + expected, 3),
            followers_count=snap.followers_count, updated_at_ms=snap.observed_at_ms,
            version=alert.version + 1,
        )
        return revised


def _evidence(extra: float, step: int, gain: int, follows_jump: bool) -> list[Reason]:
    """What speaks for bought followers in a jump of ``step`` within a spike of ``gain``,
    given the ``extra`` engagement that came with it."""
    reasons = []
    if extra < FLAT_ENGAGEMENT_PER_FOLLOWER * gain:
        reasons.append(Reason.GROWTH_WITHOUT_ENGAGEMENT)
    if is_round_jump(step):
        reasons.append(Reason.ROUND_NUMBER_JUMP)
    if follows_jump:
        reasons.append(Reason.FOLLOWS_RATIO_CHANGE)
    return reasons


def _severity(
    reasons: tuple[Reason, ...] | list[Reason],
    causes: tuple[InnocentCause, ...] | list[InnocentCause],
) -> Severity:
    severity = Severity.CRITICAL if SUSPICIOUS.intersection(reasons) else Severity.WARNING
    return severity.lowered() if causes else severity


# -- durable state: the codec of a creator's value in the store ------------------------

_encode = msgspec.msgpack.Encoder().encode
_state_decoder = msgspec.msgpack.Decoder(MonitorState)
_detector_decoder = msgspec.msgpack.Decoder(list[float] | bytes)


def _encode_detector(detector: AnomalyDetector) -> bytes:
    """The floats as 8-byte doubles, deflated (a msgpack bin): exact, and smaller than
    the msgpack list of floats written before (5,790 bytes): 333 bytes after three
    snapshots (mostly zeros), 3,442 after 2,000 (two weeks of 10-minute snapshots)."""
    return _encode(zlib.compress(array("d", detector.state()).tobytes(), 1))


def _detector_state(raw: bytes) -> list[float]:
    """What ``_encode_detector`` wrote, or the plain list of floats written before."""
    value = _detector_decoder.decode(raw)
    if isinstance(value, list):
        return value
    try:  # no more than a detector's bytes are inflated, whatever the record holds
        doubles = zlib.decompressobj().decompress(value, _DETECTOR_BYTES + 8)
    except zlib.error as exc:
        raise ValueError(f"a detector that does not inflate: {exc}") from exc
    if len(doubles) != _DETECTOR_BYTES:
        raise ValueError(f"a detector of {len(doubles)} bytes")
    return array("d", doubles).tolist()


_DETECTOR_BYTES = 8 * STATE_LENGTH


def export_state(state: _Creator) -> MonitorState:
    """Without the detector (table ``detectors``), unless one read back from the
    previous layout has not moved there yet."""
    alert = state.alert
    return MonitorState(
        detector=state.detector.state() if state.detector is not None else [],
        snapshots=state.snapshots, last_ms=state.last_ms,
        followers=state.followers, follows=state.follows, baseline=state.baseline,
        engagement=list(state.engagement), first_bucket=state.first_bucket,
        newest_bucket=state.newest_bucket, campaigns=list(state.campaigns),
        alert=None if alert is None else AlertState(
            alert.alert_id, list(alert.campaign_ids), alert.status.value, alert.severity.value,
            alert.score, alert.started_at_ms, alert.updated_at_ms, alert.ended_at_ms,
            alert.observed_growth, alert.expected_growth, alert.followers_count,
            [r.value for r in alert.reasons], [c.value for c in alert.innocent_causes],
            alert.version, alert.creator_id,
        ),
        alert_gain=state.alert_gain, quiet=state.quiet,
    )


def _encode_creator(state: _Creator) -> bytes:
    return _encode(export_state(state))


def import_state(saved: MonitorState, alert_level: float) -> _Creator:
    """A creator's state from its stored form; raises ValueError on one of the wrong shape
    (other than the detector's: a detector saved before an upgrade is learned afresh)."""
    if len(saved.engagement) != HISTORY_BUCKETS:
        raise ValueError("engagement ring of the wrong length")
    state = _Creator()
    if saved.detector:  # the previous layout, or one not moved yet
        with contextlib.suppress(ValueError):
            state.detector = AnomalyDetector.from_state(
                saved.detector, alert_level=alert_level, hold_intervals=0.0,
                params=FOLLOWER_GROWTH,
            )
    state.snapshots, state.last_ms = saved.snapshots, saved.last_ms
    state.followers, state.follows, state.baseline = saved.followers, saved.follows, saved.baseline
    state.engagement = list(saved.engagement)
    state.first_bucket, state.newest_bucket = saved.first_bucket, saved.newest_bucket
    state.campaigns = tuple(saved.campaigns)[-MAX_CAMPAIGNS:]
    state.alert_gain, state.quiet = saved.alert_gain, saved.quiet
    a = saved.alert
    if a is not None:
        state.alert = SpikeAlert(
            alert_id=a.alert_id, creator_id=a.creator_id, campaign_ids=tuple(a.campaign_ids),
            status=Status(a.status), severity=Severity(a.severity), score=a.score,
            started_at_ms=a.started_at_ms, updated_at_ms=a.updated_at_ms,
            ended_at_ms=a.ended_at_ms, observed_growth=a.observed_growth,
            expected_growth=a.expected_growth, followers_count=a.followers_count,
            reasons=tuple(Reason(r) for r in a.reasons),
            innocent_causes=tuple(InnocentCause(c) for c in a.innocent_causes),
            version=a.version,
        )
    return state
