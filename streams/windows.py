"""Event-time tumbling windows of interactions, per media and per creator-in-campaign.

Time comes from the records alone, so replaying old data gives the same windows as the
live run did. Each creator has its own watermark (its newest interaction time, capped by
the clock its record carries, minus the allowed lateness); the record key is the creator,
so the order this depends on is the per-partition order Kafka preserves, and the result
does not depend on how partitions interleave or how many workers share them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from campaignpulse.streams.contract import KINDS, VIEW_KINDS, Interaction

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
WINDOW_SIZES_MS = (MINUTE_MS, HOUR_MS)
_N_KINDS = len(KINDS)


class Outcome(Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    LATE = "late"


@dataclass(slots=True)
class EngagementWindow:
    """Running totals of one grain (media, or creator within a campaign) in one window."""

    counts: list[int] = field(default_factory=lambda: [0] * _N_KINDS)
    actors: set[str] = field(default_factory=set)
    viewers: set[str] = field(default_factory=set)
    #: Distinct events folded in: grows with the set of events, whatever their order,
    #: so the sink can use it as the row version and a partial rebuild never wins.
    events: int = 0


@dataclass(frozen=True, slots=True)
class EngagementRow:
    """One upsert for the warehouse: the current state of one grain in one window."""

    window_ms: int
    window_start_ms: int
    campaign_id: str
    creator_id: str
    media_id: str  # "" for the creator-within-campaign rollup
    counts: tuple[int, ...]
    unique_actors: int
    reach: int  # distinct actors with a view kind
    version: int


# (window size, window start, campaign id, media id)
WindowKey = tuple[int, int, str, str]


@dataclass(slots=True)
class _CreatorWindows:
    partition: int
    max_event_ms: int = -1
    windows: dict[WindowKey, EngagementWindow] = field(default_factory=dict)
    dirty: set[WindowKey] = field(default_factory=set)
    #: event ids seen per open hour; an event's hour never changes, so duplicates meet here.
    seen: dict[int, set[str]] = field(default_factory=dict)
    #: the first offset of each open hour: where a restart must resume to rebuild it.
    first_offset: dict[int, int] = field(default_factory=dict)


class EngagementAggregator:
    """Folds interactions into windows and hands out changed rows in micro-batches.

    Memory per creator is bounded by its open windows: with lateness L, at most
    L/1min + 2 minute windows and 2 hour windows per grain are open at a time.
    """

    def __init__(self, allowed_lateness_ms: int) -> None:
        self.allowed_lateness_ms = allowed_lateness_ms
        self._creators: dict[str, _CreatorWindows] = {}

    def add(
        self, event: Interaction, partition: int, offset: int, clock_ms: int | None = None
    ) -> Outcome:
        """Fold one event in. ``clock_ms``: the record's clock (see the pipeline); an event
        moves its creator's watermark no further than that, so one from the future is
        kept in its window without making the creator's real events late."""
        state = self._creators.get(event.creator_id)
        if state is None:
            state = self._creators[event.creator_id] = _CreatorWindows(partition)
        ts = event.occurred_at_ms
        if ts < state.max_event_ms - self.allowed_lateness_ms:
            return Outcome.LATE
        hour = ts - ts % HOUR_MS
        seen = state.seen.get(hour)
        if seen is None:
            seen = state.seen[hour] = set()
            state.first_offset[hour] = offset
        elif event.event_id in seen:
            return Outcome.DUPLICATE
        seen.add(event.event_id)
        progress = ts if clock_ms is None or ts <= clock_ms else clock_ms
        if progress > state.max_event_ms:
            state.max_event_ms = progress
        kind = event.kind
        is_view = kind in VIEW_KINDS
        windows = state.windows
        for size in WINDOW_SIZES_MS:
            start = ts - ts % size
            for media_id in (event.media_id, ""):
                key = (size, start, event.campaign_id, media_id)
                window = windows.get(key)
                if window is None:
                    window = windows[key] = EngagementWindow()
                window.counts[kind] += 1
                window.actors.add(event.actor_id)
                if is_view:
                    window.viewers.add(event.actor_id)
                window.events += 1
                state.dirty.add(key)
        return Outcome.ACCEPTED

    def drain(self) -> list[EngagementRow]:
        """Rows changed since the last drain; then forget windows the watermark has passed."""
        rows: list[EngagementRow] = []
        for creator_id, state in self._creators.items():
            if state.dirty:
                windows = state.windows
                rows.extend(
                    _row(creator_id, key, windows[key]) for key in state.dirty
                )
                state.dirty.clear()
            self._evict(state)
        return rows

    def _evict(self, state: _CreatorWindows) -> None:
        watermark = state.max_event_ms - self.allowed_lateness_ms
        closed = [key for key in state.windows if key[1] + key[0] <= watermark]
        for key in closed:
            del state.windows[key]
        for hour in [h for h in state.seen if h + HOUR_MS <= watermark]:
            del state.seen[hour]
            del state.first_offset[hour]

    def resume_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        """Per partition, the lowest offset any open window still needs (absent if none).

        Committing no further than this makes a restart rebuild every open window from
        all of its events, so the rows it rewrites are whole, never partial.
        """
        wanted = set(partitions)
        lowest: dict[int, int] = {}
        for state in self._creators.values():
            if state.partition in wanted and state.first_offset:
                first = min(state.first_offset.values())
                if first < lowest.get(state.partition, first + 1):
                    lowest[state.partition] = first
        return lowest

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Forget creators whose partition moved to another worker after a rebalance."""
        gone = set(partitions)
        for creator_id in [c for c, s in self._creators.items() if s.partition in gone]:
            del self._creators[creator_id]

    def open_windows(self) -> int:
        return sum(len(s.windows) for s in self._creators.values())

    def creators(self) -> int:
        return len(self._creators)


def _row(creator_id: str, key: WindowKey, window: EngagementWindow) -> EngagementRow:
    size, start, campaign_id, media_id = key
    return EngagementRow(
        window_ms=size,
        window_start_ms=start,
        campaign_id=campaign_id,
        creator_id=creator_id,
        media_id=media_id,
        counts=tuple(window.counts),
        unique_actors=len(window.actors),
        reach=len(window.viewers),
        version=window.events,
    )
