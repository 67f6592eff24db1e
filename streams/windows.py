"""Event-time tumbling windows of interactions, per media and per creator-in-campaign.

Time comes from the records alone, so replaying old data gives the same windows as the
live run did. Each creator has its own watermark (the newest time its interactions claim,
``streams/clock.py``, minus the allowed lateness); the record key is the creator,
so the order this depends on is the per-partition order Kafka preserves, and the result
does not depend on how partitions interleave or how many workers share them.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from enum import Enum

import msgspec

from campaignpulse.streams.clock import WINDOW, claim
from campaignpulse.streams.contract import KINDS, VIEW_KINDS, Interaction
from campaignpulse.streams.state.records import EventRow, WindowsHeader
from campaignpulse.streams.state.store import Store

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
WINDOW_SIZES_MS = (MINUTE_MS, HOUR_MS)
_N_KINDS = len(KINDS)


_encode = msgspec.msgpack.Encoder().encode
_header_decoder = msgspec.msgpack.Decoder(WindowsHeader)


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
    """A creator's live windows; its durable part is :class:`WindowsHeader` plus the
    events of its open hours (log ``events``)."""

    partition: int
    max_event_ms: int = -1
    #: windows before this instant left memory while the creator was idle: closed
    horizon_ms: int = -1
    windows: dict[WindowKey, EngagementWindow] = field(default_factory=dict)
    #: (window end, key) of every open window, earliest end first: eviction pops what
    #: the watermark passed instead of scanning every window
    closing: list[tuple[int, WindowKey]] = field(default_factory=list)
    dirty: set[WindowKey] = field(default_factory=set)
    #: event ids seen per open hour; an event's hour never changes, so duplicates meet here.
    seen: dict[int, set[str]] = field(default_factory=dict)
    #: wall clock of the last event (for idle creators); 0 until the first after a restore
    active_ms: int = 0
    #: idle: its windows left memory (and the changelog); only the header remains
    retired: bool = False
    #: its clock: the last five interaction times (streams/clock.py)
    recent: list[int] = field(default_factory=list)
    #: restored events of its open hours, folded into windows and ids at its next event:
    #: a restore then costs no folding for creators that stay quiet a while
    unfolded: dict[int, list[EventRow]] = field(default_factory=dict)


def _header(state: _CreatorWindows) -> bytes:
    return _encode(WindowsHeader(state.max_event_ms, state.horizon_ms, state.retired,
                                 state.recent))


def _decode_header(raw: bytes) -> _CreatorWindows:
    header = _header_decoder.decode(raw)
    if len(header.recent) > WINDOW:
        raise ValueError("a creator clock of more than five times")
    return _CreatorWindows(-1, header.max_event_ms, header.horizon_ms, retired=header.retired,
                           recent=header.recent)


class EngagementAggregator:
    """Folds interactions into windows and hands out changed rows in micro-batches.

    Memory per creator is bounded by its open windows: with lateness L, at most
    L/1min + 2 minute windows and 2 hour windows per grain are open at a time. State is
    in the store: a header per creator (table ``windows``) and the events accepted in
    each open hour (log ``events``), from which every open window and remembered id
    derive; a restore folds them again, so the rebuilt windows are exactly the live ones.
    """

    def __init__(self, allowed_lateness_ms: int, store: Store | None = None) -> None:
        self.allowed_lateness_ms = allowed_lateness_ms
        store = store if store is not None else Store()
        self._headers = store.table("windows", _header, _decode_header)
        self._creators = self._headers.values
        self._events = store.log("events", EventRow)
        #: creators with an event accepted since the last drain: only their rows changed
        #: and only their watermarks moved, so only they can have windows to close
        self._touched: dict[str, None] = {}
        store.on_restore(self._restored)

    def add(self, event: Interaction, partition: int, clock_ms: int = -1) -> Outcome:
        """Fold one event in. ``clock_ms``: its record's clock (-1: none). The event moves
        its creator's watermark no further than it claims (``streams/clock.py``), so one
        from the future is kept in its window without making real events late."""
        creator_id = event.creator_id
        state = self._creators.get(creator_id)
        if state is None or state.retired:
            state = self._fresh(creator_id, partition, state)
        elif state.unfolded:
            self._unfold(creator_id, state)
        ts = event.occurred_at_ms
        claimed = claim(state.recent, ts, clock_ms)
        self._headers.touch(creator_id)  # its clock learned the event
        if ts < state.max_event_ms - self.allowed_lateness_ms or ts < state.horizon_ms:
            return Outcome.LATE
        hour = ts - ts % HOUR_MS
        seen = state.seen.get(hour)
        if seen is None:
            seen = state.seen[hour] = set()
        elif event.event_id in seen:
            return Outcome.DUPLICATE
        seen.add(event.event_id)
        kind = event.kind
        self._events.append((creator_id, hour), EventRow(
            ts, kind, event.event_id, event.actor_id, event.media_id, event.campaign_id),
            state.partition)
        if claimed > state.max_event_ms:
            state.max_event_ms = claimed
        self._touched[creator_id] = None
        # the hot path: the same folding as _fold, inline, and each window marked dirty
        actor_id, campaign_id, is_view = event.actor_id, event.campaign_id, kind in VIEW_KINDS
        windows, dirty = state.windows, state.dirty
        for size in WINDOW_SIZES_MS:
            start = ts - ts % size
            for media in (event.media_id, ""):
                key = (size, start, campaign_id, media)
                window = windows.get(key)
                if window is None:
                    window = windows[key] = EngagementWindow()
                    heapq.heappush(state.closing, (start + size, key))
                window.counts[kind] += 1
                window.actors.add(actor_id)
                if is_view:
                    window.viewers.add(actor_id)
                window.events += 1
                dirty.add(key)
        return Outcome.ACCEPTED

    def _unfold(self, creator_id: str, state: _CreatorWindows) -> None:
        """Its restored events into windows and ids, then what its watermark closed: the
        same as the run that wrote them had, with no rows to write (they were written)."""
        unfolded, state.unfolded = state.unfolded, {}
        for hour, rows in unfolded.items():
            seen = state.seen.setdefault(hour, set())
            for e in rows:
                seen.add(e.event_id)
                self._fold(state, e)
        self._evict(creator_id, state)

    @staticmethod
    def _fold(state: _CreatorWindows, row: EventRow) -> None:
        """A restored event into its windows (rows were written before: none is dirty)."""
        ts, kind, actor_id = row.occurred_at_ms, row.kind, row.actor_id
        windows = state.windows
        for size in WINDOW_SIZES_MS:
            start = ts - ts % size
            for media in (row.media_id, ""):
                key = (size, start, row.campaign_id, media)
                window = windows.get(key)
                if window is None:
                    window = windows[key] = EngagementWindow()
                    heapq.heappush(state.closing, (start + size, key))
                window.counts[kind] += 1
                window.actors.add(actor_id)
                if kind in VIEW_KINDS:
                    window.viewers.add(actor_id)
                window.events += 1

    def drain(self, now_ms: int = 0) -> list[EngagementRow]:
        """Rows changed since the last drain; then forget windows the watermark has passed."""
        rows: list[EngagementRow] = []
        creators = self._creators
        for creator_id in self._touched:
            state = creators.get(creator_id)
            if state is None:  # its partition was revoked since
                continue
            if state.dirty:
                windows = state.windows
                rows.extend(
                    _row(creator_id, key, windows[key]) for key in state.dirty
                )
                state.dirty.clear()
                state.active_ms = now_ms
            self._evict(creator_id, state)
        self._touched.clear()
        return rows

    def _evict(self, creator_id: str, state: _CreatorWindows) -> None:
        """Drop closed windows, and the stored events of closed hours."""
        watermark = state.max_event_ms - self.allowed_lateness_ms
        closing, windows = state.closing, state.windows
        while closing and closing[0][0] <= watermark:
            del windows[heapq.heappop(closing)[1]]
        for hour in [h for h in state.seen if h + HOUR_MS <= watermark]:
            del state.seen[hour]
            self._events.delete((creator_id, hour))
        if state.unfolded:  # closed hours of a restored creator: never folded
            for hour in [h for h in state.unfolded if h + HOUR_MS <= watermark]:
                del state.unfolded[hour]
                self._events.delete((creator_id, hour))

    def _fresh(self, creator_id: str, partition: int,
               retired: _CreatorWindows | None) -> _CreatorWindows:
        state = _CreatorWindows(partition)
        if retired is not None:
            state.partition = retired.partition
            state.max_event_ms, state.horizon_ms = retired.max_event_ms, retired.horizon_ms
            state.recent = retired.recent
        self._headers.put(creator_id, state, state.partition)
        return state

    def watermark(self, creator_id: str) -> int:
        """The creator's newest event time, as far as the clocks believe it (-1 before
        any): windows ending at or before it minus the allowed lateness are closed."""
        state = self._creators.get(creator_id)
        return state.max_event_ms if state is not None else -1

    def retire_idle(self, now_ms: int, idle_ms: int) -> None:
        """Creators with no event for ``idle_ms`` of wall clock, whose partition's event
        time has passed all their open windows by the allowed lateness, leave memory: their
        windows close early (an event still meant for them counts as late), their events
        are deleted, and a small header keeps their watermark."""
        stream: dict[int, int] = {}  # partition -> newest event time in memory
        for state in self._creators.values():
            if state.max_event_ms > stream.get(state.partition, -1):
                stream[state.partition] = state.max_event_ms
        for creator_id, state in self._creators.items():
            if state.retired:
                continue
            if not state.active_ms:  # restored: idle from now on
                state.active_ms = now_ms
            elif (now_ms - state.active_ms >= idle_ms
                  and self._passed(state, stream.get(state.partition, -1))):
                self._retire(creator_id, state)

    def _retire(self, creator_id: str, state: _CreatorWindows) -> None:
        hours = _hours(state)
        if hours:
            state.horizon_ms = max(state.horizon_ms, max(hours) + HOUR_MS)
        for hour in hours:
            self._events.delete((creator_id, hour))
        state.seen.clear()
        state.unfolded.clear()
        state.windows.clear()
        state.closing.clear()
        state.dirty.clear()
        state.retired = True
        self._headers.touch(creator_id)

    def _passed(self, state: _CreatorWindows, stream_ms: int) -> bool:
        """Its partition's event time is past every open window of it by the lateness."""
        hours = _hours(state)
        end = max(hours) + HOUR_MS if hours else -1
        return end + self.allowed_lateness_ms <= stream_ms

    def _restored(self) -> None:
        """Restored creators keep their open hours' events until their next event
        (``_unfold``); the hours their watermark closed leave now."""
        for (_, hour), state, rows in self._events.take_restored(self._live):
            state.unfolded.setdefault(hour, []).extend(rows)
        for creator_id, state in self._creators.items():
            if state.partition < 0:
                state.partition = self._headers.partition(creator_id) or 0
                self._evict(creator_id, state)

    def _live(self, key: tuple[str, int]) -> _CreatorWindows | None:
        """The windows an hour's events fold into (none for a retired creator)."""
        state = self._creators.get(key[0])
        return None if state is None or state.retired else state

    def partition_of(self, creator_id: str) -> int | None:
        return self._headers.partition(creator_id)

    def open_windows(self) -> int:
        """Every open window, restored creators' folded first (a read for views and
        tests; the gauge counts ``windows_in_memory``)."""
        for creator_id, state in self._creators.items():
            if state.unfolded:
                self._unfold(creator_id, state)
        return self.windows_in_memory()

    def windows_in_memory(self) -> int:
        """Open windows built so far: a restored creator's count from its next event."""
        return sum(len(s.windows) for s in self._creators.values())

    def view(self, creator_id: str) -> dict[str, object] | None:
        """A creator's open windows, read only (a web view); None when not held here."""
        state = self._creators.get(creator_id)
        if state is None:
            return None
        if state.unfolded:
            self._unfold(creator_id, state)
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
        return sum(1 for s in self._creators.values() if not s.retired)

    def retired(self) -> int:
        return sum(1 for s in self._creators.values() if s.retired)


def _hours(state: _CreatorWindows) -> set[int]:
    """The open hours of a creator, folded or not."""
    return state.seen.keys() | state.unfolded.keys()


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
