"""Live state of every known contest, fed with accepted interactions in partition order.

Per contest: its comments (features only), the earliest like per account on the media,
and the count of distinct events (the row version, plus one once final). Per creator with
a contest: the newest event time (its watermark, as in the engagement windows) and when
each account first interacted (for ``new_entrants``, at most ``HISTORY_LIMIT`` accounts).
A contest is final once the creator's watermark passes its end; it is forgotten
``RETAIN_MS`` after that. It also answers the spike monitor: is a follower jump explained
by a contest whose valid entries rose with it?
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from campaignpulse.streams.contests.definition import Contest
from campaignpulse.streams.contests.performance import (
    ContestMinute,
    ContestPerformance,
    summarise,
)
from campaignpulse.streams.contests.rules import CommentFeatures, Entry, Verdict, judge
from campaignpulse.streams.contract import KIND_INDEX, Interaction
from campaignpulse.streams.spikes.causes import ContestCalendar
from campaignpulse.streams.state.store import Store

COMMENT = KIND_INDEX["comment"]
LIKE = KIND_INDEX["like"]
HISTORY_LIMIT = 100_000
RETAIN_MS = 7 * 24 * 3_600_000
#: a follower jump is a contest activation when valid (or provisional) entries in the
#: half hour before it number at least this share of the followers gained
EXPLAIN_WINDOW_MS = 30 * 60_000
ENTRIES_PER_FOLLOWER = 0.5


class ContestState(msgspec.Struct, array_like=True):
    media_id: str
    events: int
    final: bool


class EntryRow(msgspec.Struct, array_like=True, frozen=True):
    event_id: str
    actor_id: str
    at_ms: int
    mentions: list[str]
    hashtags: list[str]
    fingerprint: int


class Seen(msgspec.Struct, array_like=True, frozen=True):
    """An account's earliest like on a contest media, or interaction with a creator."""

    actor_id: str
    at_ms: int


@dataclass(slots=True)
class _Contest:
    """What a contest accumulated (table ``contests``; entries and likes in logs)."""

    media_id: str
    entries: list[Entry] = field(default_factory=list)
    likes: dict[str, int] = field(default_factory=dict)
    events: int = 0
    final: bool = False


@dataclass(slots=True)
class _History:
    """When each account first interacted with a creator who hosts a contest."""

    first_seen: dict[str, int] = field(default_factory=dict)


_encode = msgspec.msgpack.Encoder().encode
#: a host's value in the store says only that it is one: its history is in a log
_HOST = _encode(1)
_contest_decoder = msgspec.msgpack.Decoder(ContestState)


def _encode_contest(state: _Contest) -> bytes:
    return _encode(ContestState(state.media_id, state.events, state.final))


def _decode_contest(raw: bytes) -> _Contest:
    saved = _contest_decoder.decode(raw)
    return _Contest(saved.media_id, events=saved.events, final=saved.final)


def _entry(row: EntryRow) -> Entry:
    return Entry(row.event_id, row.actor_id, row.at_ms, CommentFeatures(
        frozenset(row.mentions), frozenset(row.hashtags), row.fingerprint))


class ContestTracker:
    """Definitions come from ``ig.contests`` (every worker knows all); what each contest
    accumulated is state in the store, on its creator's partition."""

    def __init__(self, allowed_lateness_ms: int, store: Store | None = None,
                 watermark: Callable[[str], int] | None = None) -> None:
        """``watermark``: a creator's newest event time as the engagement windows believe
        it (one clock rule for every window); without one, the newest fed here."""
        store = store if store is not None else Store()
        self.allowed_lateness_ms = allowed_lateness_ms
        self._defs: dict[str, Contest] = {}
        self._by_media: dict[str, list[Contest]] = {}
        self._hosts: set[str] = set()
        self._table = store.table("contests", _encode_contest, _decode_contest)
        self._contests = self._table.values
        self._entries = store.log("contest_entries", EntryRow)
        self._likes = store.log("contest_likes", Seen)
        self._histories = store.table("contest_hosts", lambda _h: _HOST, lambda _r: _History())
        self._history = self._histories.values
        self._seen = store.log("contest_seen", Seen)
        store.on_restore(self._restored)
        #: contests whose rows are to be written (not state: written before a checkpoint)
        self._dirty: set[str] = set()
        self._newest: dict[str, int] | None = None if watermark else {}
        self._watermark = watermark or (lambda creator: (self._newest or {}).get(creator, -1))

    def define(self, contest: Contest) -> None:
        """A new or changed contest; a change re-judges the entries already seen, a new
        media starts it afresh."""
        self._defs[contest.contest_id] = contest
        state = self._contests.get(contest.contest_id)
        if state is not None and state.media_id != contest.media_id:
            self._forget(contest.contest_id)
        self._dirty.add(contest.contest_id)
        self._index()

    def _index(self) -> None:
        self._by_media = {}
        for contest in self._defs.values():
            self._by_media.setdefault(contest.media_id, []).append(contest)
        self._hosts = {c.creator_id for c in self._defs.values()}

    def wants_text(self, event: Interaction) -> bool:
        """Whether this comment is on a contest media (only then is its text read)."""
        return event.kind == COMMENT and event.media_id in self._by_media

    def add(self, event: Interaction, partition: int,
            text: CommentFeatures | None = None) -> None:
        creator_id = event.creator_id
        if creator_id not in self._hosts:
            return
        ts, actor = event.occurred_at_ms, event.actor_id
        if self._newest is not None:
            self._newest[creator_id] = max(self._newest.get(creator_id, ts), ts)
        seen = self._host(creator_id, partition).first_seen
        if ts < seen.get(actor, ts + 1) and (actor in seen or len(seen) < HISTORY_LIMIT):
            seen[actor] = ts
            self._seen.append(creator_id, Seen(actor, ts), partition)
        for contest in self._by_media.get(event.media_id, ()):
            if contest.creator_id != creator_id:
                continue
            cid = contest.contest_id
            state = self._state(cid, contest.media_id, partition)
            if event.kind == COMMENT and text is not None:
                state.entries.append(Entry(event.event_id, actor, ts, text))
                self._entries.append(cid, EntryRow(
                    event.event_id, actor, ts, sorted(text.mentions), sorted(text.hashtags),
                    text.fingerprint), partition)
            elif event.kind == LIKE:
                if ts < state.likes.get(actor, ts + 1):
                    state.likes[actor] = ts
                    self._likes.append(cid, Seen(actor, ts), partition)
            else:
                continue
            state.events += 1
            self._table.touch(cid)
            self._dirty.add(cid)

    def _host(self, creator_id: str, partition: int) -> _History:
        history = self._history.get(creator_id)
        if history is None:
            history = _History()
            self._histories.put(creator_id, history, partition)
        return history

    def _state(self, contest_id: str, media_id: str, partition: int) -> _Contest:
        state = self._contests.get(contest_id)
        if state is None:
            state = _Contest(media_id)
            self._table.put(contest_id, state, partition)
        return state

    def _forget(self, contest_id: str) -> None:
        self._table.delete(contest_id)
        self._entries.delete(contest_id)
        self._likes.delete(contest_id)

    def _restored(self) -> None:
        for _, state, rows in self._entries.take_restored(self._contests.get):
            state.entries.extend(_entry(r) for r in rows)
        for _, state, likes in self._likes.take_restored(self._contests.get):
            for like in likes:
                state.likes[like.actor_id] = min(like.at_ms,
                                                 state.likes.get(like.actor_id, like.at_ms))
        for _, history, seen in self._seen.take_restored(self._history.get):
            for first in seen:
                history.first_seen[first.actor_id] = min(
                    first.at_ms, history.first_seen.get(first.actor_id, first.at_ms))
        for cid, contest in self._defs.items():
            restored = self._contests.get(cid)
            if restored is not None and restored.media_id != contest.media_id:
                self._forget(cid)

    def _ended(self, contest: Contest, after_ms: int = 0) -> bool:
        watermark = self._watermark(contest.creator_id) - self.allowed_lateness_ms
        return watermark >= contest.ends_at + after_ms

    def drain(self) -> tuple[list[ContestPerformance], list[ContestMinute]]:
        """Rows of contests that changed or became final; then forget retired contests."""
        for cid, contest in self._defs.items():
            state = self._contests.get(cid)
            partition = self._histories.partition(contest.creator_id)
            if (state is None or not state.final) and partition is not None \
                    and self._ended(contest):
                state = self._state(cid, contest.media_id, partition)
                state.final = True
                self._table.touch(cid)
                self._dirty.add(cid)
        performance: list[ContestPerformance] = []
        minutes: list[ContestMinute] = []
        for contest_id in sorted(self._dirty):
            defined = self._defs.get(contest_id)
            if defined is None:
                continue
            # a contest without entries here yet has its (empty) row too, version 0
            state = self._contests.get(contest_id) or _Contest(defined.media_id)
            row, minute_rows = self._summarise(defined, state)
            performance.append(row)
            # every minute, each time: its version must be the contest's, whatever the
            # batch boundaries were, so that a replay writes the very same rows
            minutes.extend(minute_rows)
        self._dirty.clear()
        retired = [c for c, d in self._defs.items() if self._ended(d, RETAIN_MS)]
        for contest_id in retired:
            del self._defs[contest_id]
            self._forget(contest_id)
        if retired:
            self._index()
            for creator_id in [c for c in self._history if c not in self._hosts]:
                self._histories.delete(creator_id)  # only kept for contests
                self._seen.delete(creator_id)
        return performance, minutes

    def _summarise(self, contest: Contest,
                   state: _Contest) -> tuple[ContestPerformance, list[ContestMinute]]:
        judged = judge(contest, state.entries, state.likes, state.final)
        history = self._history.get(contest.creator_id)
        first_seen = history.first_seen if history is not None else {}
        return summarise(contest, judged, first_seen, state.final,
                         state.events + int(state.final))

    def knows(self, creator_id: str) -> bool:
        return creator_id in self._hosts

    def active(self, creator_id: str, at_ms: int, growth: int = 0) -> str | None:
        """The contest explaining a jump of ``growth`` followers at ``at_ms``, if any."""
        for contest in self._defs.values():
            if contest.creator_id != creator_id or not (
                    contest.starts_at <= at_ms <= contest.ends_at + EXPLAIN_WINDOW_MS):
                continue
            state = self._contests.get(contest.contest_id)
            if state is None:
                continue
            judged = judge(contest, state.entries, state.likes, final=False)
            recent = sum(1 for e, v in judged
                         if v in (Verdict.VALID, Verdict.PROVISIONAL)
                         and at_ms - EXPLAIN_WINDOW_MS < e.at_ms <= at_ms)
            if recent and recent >= ENTRIES_PER_FOLLOWER * growth:
                return contest.contest_id
        return None


class ContestCalendarWithFallback:
    """Contests from ``ig.contests`` first; a creator without one falls back to captions."""

    def __init__(self, tracker: ContestTracker, fallback: ContestCalendar) -> None:
        self.tracker = tracker
        self.fallback = fallback

    def active(self, creator_id: str, at_ms: int, growth: int = 0) -> str | None:
        if self.tracker.knows(creator_id):
            return self.tracker.active(creator_id, at_ms, growth)
        return self.fallback.active(creator_id, at_ms, growth)
