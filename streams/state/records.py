"""What the state changelog holds, as msgspec Structs (msgpack on the wire, never pickle).

The changelog is input like any other: it is decoded into these types and a record that
does not fit them is refused, not executed.
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


class WindowsState(msgspec.Struct, array_like=True):
    """A creator's window state: its watermark and the event chunks of each open hour."""

    max_event_ms: int
    #: the newest ig.interactions offset of this creator decided (accepted, duplicate or
    #: late); a record at or below it re-read after a crash was already decided
    last_offset: int
    #: windows before this instant left memory while the creator was idle: closed
    horizon_ms: int
    #: open hour start -> number of event chunks stored for it
    hours: dict[int, int]
    #: idle: the open hours left memory (and the changelog); only the marker remains
    retired: bool = False


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
    contest_ms: int = -1
    contest_media: str = ""
    shoutout_ms: int = -1


class CreatorRecord(msgspec.Struct, array_like=True):
    """The value under key ("c", creator): everything of one creator but its event chunks."""

    partition: int
    windows: WindowsState | None
    monitor: MonitorState | None
