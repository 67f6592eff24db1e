"""Event-time tumbling windows of interactions, per media and per creator-in-campaign.

Time comes from the records alone, so replaying old data gives the same windows as the
live run did. Each creator has its own watermark (its newest interaction time, capped by
the clock its record carries, minus the allowed lateness); the record key is the creator,
so the order this depends on is the per-partition order Kafka preserves, and the result
does not depend on how partitions interleave or how many workers share them.

The state is checkpointed in step with the sink (``checkpoint``/``restore``): the events
accepted in each open hour, from which every open window and remembered id derive, plus
each creator's watermark and the offset of its newest decided record (streams/state).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from campaignpulse.streams.contract import KINDS, VIEW_KINDS, Interaction
from campaignpulse.streams.state.records import EventRow, WindowsState

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
WINDOW_SIZES_MS = (MINUTE_MS, HOUR_MS)
_N_KINDS = len(KINDS)


class Outcome(Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    LATE = "late"
    #: re-read after a restart: this creator's state already holds its decision
    REPLAYED = "replayed"


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
    # Durable state (see streams/state): accepted events not yet checkpointed, event
    # chunks stored per open hour, closed hours whose chunks are to be deleted.
    last_offset: int = -1
    horizon_ms: int = -1
    unsaved: list[Interaction] = field(default_factory=list)
    chunks: dict[int, int] = field(default_factory=dict)
    closed: list[tuple[int, int]] = field(default_factory=list)
    active_ms: int = 0


@dataclass(slots=True)
class CreatorDelta:
    """What a checkpoint must store for one creator: its header and new or dead chunks."""

    creator_id: str
    partition: int
    header: WindowsState
    #: (hour, chunk number, events) to write
    chunks: list[tuple[int, int, list[EventRow]]]
    #: (hour, chunk number) to delete
    tombstones: list[tuple[int, int]]


#: events per stored chunk: with the contract's 256-character strings the worst case is
#: about 4.2 KB per event, so a chunk stays well below Kafka's 1 MB message limit
EVENTS_PER_CHUNK = 200


class EngagementAggregator:
    """Folds interactions into windows and hands out changed rows in micro-batches.

    Memory per creator is bounded by its open windows: with lateness L, at most
    L/1min + 2 minute windows and 2 hour windows per grain are open at a time.
    """

    def __init__(self, allowed_lateness_ms: int) -> None:
        self.allowed_lateness_ms = allowed_lateness_ms
        self._creators: dict[str, _CreatorWindows] = {}
        #: creators whose state changed since the last checkpoint
        self._changed: set[str] = set()
        #: idle creators whose windows left memory: only their header stays
        self._retired: dict[str, tuple[int, WindowsState]] = {}

    def add(
        self, event: Interaction, partition: int, offset: int, clock_ms: int | None = None
    ) -> Outcome:
        """Fold one event in. ``clock_ms``: the record's clock (see the pipeline); an event
        moves its creator's watermark no further than that, so one from the future is
        kept in its window without making the creator's real events late."""
        state = self._creators.get(event.creator_id)
        if state is None:
            state = self._creators[event.creator_id] = self._fresh(event.creator_id, partition)
        if offset <= state.last_offset:
            return Outcome.REPLAYED
        state.last_offset = offset
        self._changed.add(event.creator_id)
        ts = event.occurred_at_ms
        if ts < state.max_event_ms - self.allowed_lateness_ms or ts < state.horizon_ms:
            return Outcome.LATE
        hour = ts - ts % HOUR_MS
        seen = state.seen.get(hour)
        if seen is None:
            seen = state.seen[hour] = set()
        elif event.event_id in seen:
            return Outcome.DUPLICATE
        seen.add(event.event_id)
        state.unsaved.append(event)
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
            if self._evict(state):
                self._changed.add(creator_id)
        return rows

    def _evict(self, state: _CreatorWindows) -> bool:
        """Drop closed windows; True when an hour closed (its stored chunks must go)."""
        watermark = state.max_event_ms - self.allowed_lateness_ms
        closed = [key for key in state.windows if key[1] + key[0] <= watermark]
        for key in closed:
            del state.windows[key]
        hours = [h for h in state.seen if h + HOUR_MS <= watermark]
        for hour in hours:
            del state.seen[hour]
            stored = state.chunks.pop(hour, 0)
            if stored:
                state.closed.append((hour, stored))
        return bool(hours)

    def _fresh(self, creator_id: str, partition: int) -> _CreatorWindows:
        state = _CreatorWindows(partition)
        retired = self._retired.pop(creator_id, None)
        if retired is not None:
            header = retired[1]
            state.max_event_ms = header.max_event_ms
            state.last_offset = header.last_offset
            state.horizon_ms = header.horizon_ms
        return state

    # -- durable state -----------------------------------------------------------------

    def checkpoint(self, now_ms: int, idle_ms: int | None = None) -> list[CreatorDelta]:
        """Everything changed since the last checkpoint, as chunks, tombstones and headers.

        Creators with no event for ``idle_ms`` of wall clock, whose partition's event
        time has passed all their open windows by the allowed lateness, leave memory: their
        windows close early (an event still meant for them counts as late), their chunks
        are deleted, and a small header keeps their watermark.
        """
        deltas = []
        for creator_id in self._changed:
            state = self._creators.get(creator_id)
            if state is not None:
                state.active_ms = now_ms
                deltas.append(self._delta(creator_id, state, retire=False))
        self._changed.clear()
        if idle_ms is not None:
            stream: dict[int, int] = {}  # partition -> newest event time in memory
            for state in self._creators.values():
                if state.max_event_ms > stream.get(state.partition, -1):
                    stream[state.partition] = state.max_event_ms
            idle = []
            for creator_id, state in self._creators.items():
                if not state.active_ms:  # restored: idle from now on
                    state.active_ms = now_ms
                elif (now_ms - state.active_ms >= idle_ms
                      and self._passed(state, stream[state.partition])):
                    idle.append(creator_id)
            deltas.extend(self._delta(c, self._creators.pop(c), True) for c in idle)
        return deltas

    def _passed(self, state: _CreatorWindows, stream_ms: int) -> bool:
        """Its partition's event time is past every open window of it by the lateness."""
        end = max(state.seen) + HOUR_MS if state.seen else -1
        return end + self.allowed_lateness_ms <= stream_ms

    def _delta(self, creator_id: str, state: _CreatorWindows, retire: bool) -> CreatorDelta:
        tombstones = [(h, i) for h, n in state.closed for i in range(n)]
        state.closed.clear()
        chunks: list[tuple[int, int, list[EventRow]]] = []
        by_hour: dict[int, list[EventRow]] = {}
        for e in state.unsaved:
            ts = e.occurred_at_ms
            hour = ts - ts % HOUR_MS
            if hour in state.seen:  # events of hours closed meanwhile need no storing
                by_hour.setdefault(hour, []).append(EventRow(
                    ts, e.kind, e.event_id, e.actor_id, e.media_id, e.campaign_id))
        state.unsaved.clear()
        for hour, rows in by_hour.items():
            first = state.chunks.get(hour, 0)
            chunks.extend(
                (hour, first + i // EVENTS_PER_CHUNK, rows[i:i + EVENTS_PER_CHUNK])
                for i in range(0, len(rows), EVENTS_PER_CHUNK)
            )
            state.chunks[hour] = first + -(-len(rows) // EVENTS_PER_CHUNK)
        horizon = state.horizon_ms
        if retire:
            tombstones.extend((h, i) for h, n in state.chunks.items() for i in range(n))
            chunks = []
            if state.seen:
                horizon = max(horizon, max(state.seen) + HOUR_MS)
        header = WindowsState(
            max_event_ms=state.max_event_ms, last_offset=state.last_offset,
            horizon_ms=horizon, hours={} if retire else dict(state.chunks), retired=retire,
        )
        if retire:
            self._retired[creator_id] = (state.partition, header)
        return CreatorDelta(creator_id, state.partition, header, chunks, tombstones)

    def restore(
        self, creator_id: str, partition: int, header: WindowsState,
        hours: dict[int, list[EventRow]],
    ) -> None:
        """Rebuild a creator from its checkpoint: the same windows, ids and watermark as
        the run that wrote it, without rows to write (they were written before)."""
        if header.retired:
            self._creators.pop(creator_id, None)
            self._retired[creator_id] = (partition, header)
            return
        state = self._creators[creator_id] = _CreatorWindows(partition)
        self._retired.pop(creator_id, None)
        state.last_offset = header.last_offset
        state.horizon_ms = header.horizon_ms
        state.chunks = {h: n for h, n in header.hours.items() if h in hours}
        windows = state.windows
        for hour in sorted(hours):
            seen = state.seen.setdefault(hour, set())
            for e in hours[hour]:
                seen.add(e.event_id)
                for size in WINDOW_SIZES_MS:
                    start = e.occurred_at_ms - e.occurred_at_ms % size
                    for media_id in (e.media_id, ""):
                        key = (size, start, e.campaign_id, media_id)
                        window = windows.get(key)
                        if window is None:
                            window = windows[key] = EngagementWindow()
                        window.counts[e.kind] += 1
                        window.actors.add(e.actor_id)
                        if e.kind in VIEW_KINDS:
                            window.viewers.add(e.actor_id)
                        window.events += 1
        state.max_event_ms = header.max_event_ms
        self._evict(state)

    def header(self, creator_id: str) -> tuple[int, WindowsState] | None:
        """Partition and stored header of a creator whose windows did not change."""
        state = self._creators.get(creator_id)
        if state is None:
            return self._retired.get(creator_id)
        return state.partition, WindowsState(
            state.max_event_ms, state.last_offset, state.horizon_ms, dict(state.chunks)
        )

    def partition_of(self, creator_id: str) -> int | None:
        state = self._creators.get(creator_id)
        if state is not None:
            return state.partition
        retired = self._retired.get(creator_id)
        return retired[0] if retired is not None else None

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Forget creators whose partition moved to another worker after a rebalance."""
        gone = set(partitions)
        for creator_id in [c for c, s in self._creators.items() if s.partition in gone]:
            del self._creators[creator_id]
            self._changed.discard(creator_id)
        for creator_id in [c for c, r in self._retired.items() if r[0] in gone]:
            del self._retired[creator_id]

    def open_windows(self) -> int:
        return sum(len(s.windows) for s in self._creators.values())

    def view(self, creator_id: str) -> dict[str, object] | None:
        """A creator's open windows, read only (a web view); None when not held here."""
        state = self._creators.get(creator_id)
        if state is None:
            return None
        return {
            "partition": state.partition,
            "newest_event_ms": state.max_event_ms,
            "open_windows": [
                {"window_seconds": size // 1000, "window_start_ms": start,
                 "campaign_id": campaign, "media_id": media,
                 "counts": dict(zip(KINDS, window.counts, strict=True)),
                 "unique_actors": len(window.actors), "reach": len(window.viewers)}
                for (size, start, campaign, media), window in sorted(state.windows.items())
            ],
        }

    def creators(self) -> int:
        return len(self._creators)

    def retired(self) -> int:
        return len(self._retired)


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
