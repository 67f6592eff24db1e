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

from collections.abc import Iterable
from dataclasses import dataclass, field

from campaignpulse.streams.contests.definition import Contest
from campaignpulse.streams.contests.performance import (
    ContestMinute,
    ContestPerformance,
    summarise,
)
from campaignpulse.streams.contests.rules import CommentFeatures, Entry, Verdict, judge
from campaignpulse.streams.contract import KIND_INDEX, Interaction
from campaignpulse.streams.spikes.causes import ContestCalendar

COMMENT = KIND_INDEX["comment"]
LIKE = KIND_INDEX["like"]
HISTORY_LIMIT = 100_000
RETAIN_MS = 7 * 24 * 3_600_000
#: a follower jump is a contest activation when valid (or provisional) entries in the
#: half hour before it number at least this share of the followers gained
EXPLAIN_WINDOW_MS = 30 * 60_000
ENTRIES_PER_FOLLOWER = 0.5


@dataclass(slots=True)
class _Contest:
    contest: Contest
    entries: list[Entry] = field(default_factory=list)
    likes: dict[str, int] = field(default_factory=dict)
    events: int = 0
    final: bool = False
    partition: int = -1
    first_offset: int = -1


@dataclass(slots=True)
class _Creator:
    newest_ms: int = -1
    first_seen: dict[str, int] = field(default_factory=dict)


class ContestTracker:
    def __init__(self, allowed_lateness_ms: int) -> None:
        self.allowed_lateness_ms = allowed_lateness_ms
        self._contests: dict[str, _Contest] = {}
        self._by_media: dict[str, list[_Contest]] = {}
        self._creators: dict[str, _Creator] = {}
        self._dirty: set[str] = set()

    def define(self, contest: Contest) -> None:
        """A new or changed contest; a change re-judges the entries already seen."""
        known = self._contests.get(contest.contest_id)
        state = _Contest(contest) if known is None else known
        if known is not None and known.contest.media_id != contest.media_id:
            state = _Contest(contest)
        state.contest = contest
        self._contests[contest.contest_id] = state
        self._index()
        self._creators.setdefault(contest.creator_id, _Creator())
        self._dirty.add(contest.contest_id)

    def _index(self) -> None:
        self._by_media = {}
        for state in self._contests.values():
            self._by_media.setdefault(state.contest.media_id, []).append(state)

    def wants_text(self, event: Interaction) -> bool:
        """Whether this comment is on a contest media (only then is its text read)."""
        return event.kind == COMMENT and event.media_id in self._by_media

    def add(self, event: Interaction, partition: int, offset: int,
            text: CommentFeatures | None = None) -> None:
        creator = self._creators.get(event.creator_id)
        if creator is None:
            return
        ts = event.occurred_at_ms
        creator.newest_ms = max(creator.newest_ms, ts)
        seen = creator.first_seen
        if ts < seen.get(event.actor_id, ts + 1) and (
                event.actor_id in seen or len(seen) < HISTORY_LIMIT):
            seen[event.actor_id] = ts
        for state in self._by_media.get(event.media_id, ()):
            if state.contest.creator_id != event.creator_id:
                continue
            if event.kind == COMMENT and text is not None:
                state.entries.append(Entry(event.event_id, event.actor_id, ts, text))
            elif event.kind == LIKE:
                if ts < state.likes.get(event.actor_id, ts + 1):
                    state.likes[event.actor_id] = ts
            else:
                continue
            state.events += 1
            if state.first_offset < 0:
                state.partition, state.first_offset = partition, offset
            self._dirty.add(state.contest.contest_id)

    def _watermark(self, creator_id: str) -> int:
        creator = self._creators.get(creator_id)
        newest = creator.newest_ms if creator is not None else -1
        return newest - self.allowed_lateness_ms

    def drain(self) -> tuple[list[ContestPerformance], list[ContestMinute]]:
        """Rows of contests that changed or became final; then forget retired contests."""
        for state in self._contests.values():
            ended = self._watermark(state.contest.creator_id) >= state.contest.ends_at
            if ended and not state.final:
                state.final = True
                self._dirty.add(state.contest.contest_id)
        performance: list[ContestPerformance] = []
        minutes: list[ContestMinute] = []
        for contest_id in sorted(self._dirty):
            dirty = self._contests.get(contest_id)
            if dirty is None:
                continue
            row, minute_rows = self._summarise(dirty)
            performance.append(row)
            # every minute, each time: its version must be the contest's, whatever the
            # batch boundaries were, so that a replay writes the very same rows
            minutes.extend(minute_rows)
        self._dirty.clear()
        retired = [c for c, s in self._contests.items()
                   if self._watermark(s.contest.creator_id) >= s.contest.ends_at + RETAIN_MS]
        for contest_id in retired:
            del self._contests[contest_id]
        if retired:
            self._index()
            hosts = {s.contest.creator_id for s in self._contests.values()}
            for creator_id in [c for c in self._creators if c not in hosts]:
                del self._creators[creator_id]  # its history was only kept for contests
        return performance, minutes

    def _summarise(self, state: _Contest) -> tuple[ContestPerformance, list[ContestMinute]]:
        contest = state.contest
        judged = judge(contest, state.entries, state.likes, state.final)
        creator = self._creators.get(contest.creator_id)
        first_seen = creator.first_seen if creator is not None else {}
        return summarise(contest, judged, first_seen, state.final,
                         state.events + int(state.final))

    def resume_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        """Per partition, the first offset a contest that is not final still needs."""
        wanted = set(partitions)
        lowest: dict[int, int] = {}
        for s in self._contests.values():
            if not s.final and s.partition in wanted and s.first_offset >= 0:
                lowest[s.partition] = min(s.first_offset, lowest.get(s.partition, s.first_offset))
        return lowest

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Entries of moved partitions go; definitions stay (every worker knows them all)."""
        gone = set(partitions)
        for state in self._contests.values():
            if state.partition in gone:
                fresh = _Contest(state.contest)
                self._contests[state.contest.contest_id] = fresh
        self._index()

    def knows(self, creator_id: str) -> bool:
        return any(s.contest.creator_id == creator_id for s in self._contests.values())

    def active(self, creator_id: str, at_ms: int, growth: int = 0) -> str | None:
        """The contest explaining a jump of ``growth`` followers at ``at_ms``, if any."""
        for state in self._contests.values():
            contest = state.contest
            if contest.creator_id != creator_id or not (
                    contest.starts_at <= at_ms <= contest.ends_at + EXPLAIN_WINDOW_MS):
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
