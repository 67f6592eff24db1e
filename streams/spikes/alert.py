"""The follower-spike alert as it travels on ``campaignpulse.alerts`` and lands in ClickHouse."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import orjson

from campaignpulse.streams.timestamps import format_timestamp_ms

ALERTS_TOPIC = "campaignpulse.alerts"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    def lowered(self) -> Severity:
        return Severity.INFO if self is not Severity.CRITICAL else Severity.WARNING


class Status(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Reason(StrEnum):
    """Evidence of bought followers."""

    GROWTH_ABOVE_BASELINE = "growth_above_baseline"
    GROWTH_WITHOUT_ENGAGEMENT = "growth_without_engagement"
    ROUND_NUMBER_JUMP = "round_number_jump"
    LATER_DROP = "later_drop"
    FOLLOWS_RATIO_CHANGE = "follows_ratio_change"


class InnocentCause(StrEnum):
    """Known reasons for real growth; each lowers the severity by one step."""

    CONTEST_ACTIVATION = "contest_activation"
    VIRAL_POST = "viral_post"
    SHOUTOUT = "shoutout"


@dataclass(frozen=True, slots=True)
class SpikeAlert:
    """One version of one alert; ``version`` grows with every change, for the sink."""

    alert_id: str
    creator_id: str
    campaign_ids: tuple[str, ...]
    status: Status
    severity: Severity
    score: float
    started_at_ms: int
    updated_at_ms: int
    ended_at_ms: int | None  # None while firing
    observed_growth: int
    expected_growth: float
    followers_count: int
    reasons: tuple[Reason, ...]
    innocent_causes: tuple[InnocentCause, ...]
    version: int

    def to_json(self) -> bytes:
        body: dict[str, Any] = asdict(self)
        body["started_at"] = format_timestamp_ms(self.started_at_ms)
        body["ended_at"] = (
            None if self.ended_at_ms is None else format_timestamp_ms(self.ended_at_ms)
        )
        return orjson.dumps(body)

    @classmethod
    def from_json(cls, raw: bytes) -> SpikeAlert:
        body = orjson.loads(raw)
        return cls(
            alert_id=body["alert_id"],
            creator_id=body["creator_id"],
            campaign_ids=tuple(body["campaign_ids"]),
            status=Status(body["status"]),
            severity=Severity(body["severity"]),
            score=float(body["score"]),
            started_at_ms=int(body["started_at_ms"]),
            updated_at_ms=int(body["updated_at_ms"]),
            ended_at_ms=None if body["ended_at_ms"] is None else int(body["ended_at_ms"]),
            observed_growth=int(body["observed_growth"]),
            expected_growth=float(body["expected_growth"]),
            followers_count=int(body["followers_count"]),
            reasons=tuple(Reason(r) for r in body["reasons"]),
            innocent_causes=tuple(InnocentCause(c) for c in body["innocent_causes"]),
            version=int(body["version"]),
        )
