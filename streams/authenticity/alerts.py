"""``inauthentic_engagement`` alerts: one per campaign creator, for the campaign team.

A campaign creator's figures (to date): pod share and bot share of its raw engagements
(judged from ``min_engagements`` on), and the low end of its inauthentic-audience
interval. The alert opens when a figure reaches its threshold or jumps (rises by ``jump``
since the previous observation); while firing, a new version is written when it jumps
again, when another figure reaches its threshold, or when a figure moved by ``jump``
since the last version; it resolves when
every figure is below its threshold less ``hysteresis`` and the last jump is ``hold_ms``
old. Versioned like the disclosure alert, so the sink keeps the newest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import msgspec
import orjson

from campaignpulse.streams.authenticity.rules import HOUR_MS
from campaignpulse.streams.timestamps import format_timestamp_ms

ALERT_TYPE = "inauthentic_engagement"


class Measure(StrEnum):
    POD_SHARE = "pod_share"
    BOT_SHARE = "bot_share"
    INAUTHENTIC_AUDIENCE = "inauthentic_audience"


@dataclass(frozen=True, slots=True)
class Thresholds:
    pod_share: float = 0.2
    bot_share: float = 0.2
    #: compared with the interval's low end: the alert is confident
    inauthentic_audience: float = 0.3
    jump: float = 0.1
    hysteresis: float = 0.05
    min_engagements: int = 50
    hold_ms: int = HOUR_MS

    def of(self, measure: Measure) -> float:
        return float(getattr(self, measure.value))


@dataclass(frozen=True, slots=True)
class Figures:
    engagements: int
    pod_share: float | None
    bot_share: float | None
    inauthentic_low: float | None

    def values(self, min_engagements: int) -> dict[Measure, float]:
        out: dict[Measure, float] = {}
        if self.engagements >= min_engagements:
            if self.pod_share is not None:
                out[Measure.POD_SHARE] = self.pod_share
            if self.bot_share is not None:
                out[Measure.BOT_SHARE] = self.bot_share
        if self.inauthentic_low is not None:
            out[Measure.INAUTHENTIC_AUDIENCE] = self.inauthentic_low
        return out


@dataclass(frozen=True, slots=True)
class AuthenticityAlert:
    alert_id: str
    campaign_id: str
    creator_id: str
    status: str  # firing | resolved
    reasons: tuple[str, ...]  # "<measure>" at or over its threshold, "<measure>_jump"
    pod_share: float | None
    bot_share: float | None
    inauthentic_low: float | None
    engagements: int
    observed_at_ms: int
    version: int
    severity: str = "warning"
    team: str = "campaign"
    alert_type: str = ALERT_TYPE

    def to_json(self) -> bytes:
        body: dict[str, Any] = asdict(self)
        body["observed_at"] = format_timestamp_ms(self.observed_at_ms)
        return orjson.dumps(body)

    @classmethod
    def from_json(cls, raw: bytes) -> AuthenticityAlert:
        body: dict[str, Any] = orjson.loads(raw)
        if body.get("alert_type") != ALERT_TYPE:
            raise ValueError("not an inauthentic_engagement alert")
        body.pop("observed_at", None)
        body["reasons"] = tuple(body["reasons"])
        return cls(**body)


def alert_id(campaign_id: str, creator_id: str) -> str:
    return f"authenticity-{campaign_id}-{creator_id}"


class AlertTrack(msgspec.Struct):
    """The state of one (campaign, creator)."""

    previous: dict[Measure, float]
    alert: AuthenticityAlert | None = None
    at_version: dict[Measure, float] | None = None
    last_jump_ms: int = -1


class AuthenticityAlertMonitor:
    """State per (campaign, creator): the last figures, the alert and its last version."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self.tracks: dict[tuple[str, str], AlertTrack] = {}

    def observe(self, campaign_id: str, creator_id: str, at_ms: int,
                figures: Figures) -> AuthenticityAlert | None:
        t = self.thresholds
        values = figures.values(t.min_engagements)
        track = self.tracks.setdefault((campaign_id, creator_id), AlertTrack({}))
        over = [m for m, v in values.items() if v >= t.of(m)]
        jumped = [m for m, v in values.items() if v - track.previous.get(m, v) >= t.jump]
        track.previous = values
        if jumped:
            track.last_jump_ms = at_ms
        reasons = tuple([m.value for m in over] + [f"{m.value}_jump" for m in jumped])
        known = track.alert
        firing = known is not None and known.status == "firing"
        if not firing:
            if not reasons:
                return None
            version = known.version + 1 if known is not None else 1
            return self._write(track, campaign_id, creator_id, "firing", reasons, figures,
                               at_ms, version, values)
        assert known is not None  # noqa: S101 - firing implies an alert
        calm = all(v < t.of(m) - t.hysteresis for m, v in values.items())
        if calm and at_ms - track.last_jump_ms >= t.hold_ms:
            return self._write(track, campaign_id, creator_id, "resolved", known.reasons,
                               figures, at_ms, known.version + 1, values)
        since = track.at_version or {}
        moved = any(abs(v - since.get(m, v)) >= t.jump for m, v in values.items())
        crossed = {m.value for m in over}
        before = {r for r in known.reasons if not r.endswith("_jump")}
        if not jumped and not moved and crossed <= before:
            return None
        return self._write(track, campaign_id, creator_id, "firing", reasons or known.reasons,
                           figures, at_ms, known.version + 1, values)

    def _write(self, track: AlertTrack, campaign_id: str, creator_id: str, status: str,
               reasons: tuple[str, ...], figures: Figures, at_ms: int, version: int,
               values: dict[Measure, float]) -> AuthenticityAlert:
        alert = AuthenticityAlert(
            alert_id=alert_id(campaign_id, creator_id), campaign_id=campaign_id,
            creator_id=creator_id, status=status, reasons=reasons,
            pod_share=figures.pod_share, bot_share=figures.bot_share,
            inauthentic_low=figures.inauthentic_low, engagements=figures.engagements,
            observed_at_ms=at_ms, version=version,
        )
        track.alert = alert
        track.at_version = dict(values)
        return alert
