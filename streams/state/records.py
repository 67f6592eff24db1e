"""What the state changelog holds, as msgspec Structs (msgpack on the wire, never pickle).

The changelog is input like any other: it is decoded into these types and a record that
does not fit them is refused, not executed. The values of each operator's tables and
logs; the keys are the store's (``store.py``).
"""

from __future__ import annotations

import msgspec


class EventRow(msgspec.Struct, array_like=True, frozen=True):
    """One accepted interaction of an open hour: enough to rebuild its windows and ids."""

    occurred_at_ms: int
    kind: int
    event_id: str
    actor_id: str
    media_id: str
    campaign_id: str


class WindowsHeader(msgspec.Struct, array_like=True):
    """A creator's window state besides its events: watermark, its clock, idle horizon,
    retired."""

    max_event_ms: int
    #: windows before this instant left memory while the creator was idle: closed
    horizon_ms: int
    #: idle: its open hours left memory (and the changelog); only this header remains
    retired: bool
    #: its last five interaction times, each capped by its record's clock (streams/clock)
    recent: list[int]


class AlertState(msgspec.Struct, array_like=True):
    alert_id: str
    campaign_ids: list[str]
    status: str
    severity: str
    score: float
    started_at_ms: int
    updated_at_ms: int
    ended_at_ms: int | None
    observed_growth: int
    expected_growth: float
    followers_count: int
    reasons: list[str]
    innocent_causes: list[str]
    version: int
    creator_id: str


class MonitorState(msgspec.Struct, array_like=True):
    """A creator's follower-spike state: detector, baseline, engagement ring, open alert."""

    detector: list[float]
    snapshots: int
    last_ms: int
    followers: int
    follows: int
    baseline: float
    engagement: list[int]
    first_bucket: int
    newest_bucket: int
    campaigns: list[str]
    alert: AlertState | None
    alert_gain: int
    quiet: int
