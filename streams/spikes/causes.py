"""Innocent causes of real follower growth, seen from the events the worker already reads.

Contests (giveaways) come from ``ig.contests`` (``streams/contests``); for a creator
without one, a caption that announces a giveaway opens one as a fallback. A shoutout is another
creator's caption that mentions ``@creator_id``.
"""

from __future__ import annotations

import re
from typing import Protocol

import msgspec

from campaignpulse.streams.state.store import Store

HOUR_MS = 3_600_000
CONTEST_WORDS = re.compile(r"#(giveaway|contest|gewinnspiel|sorteo|concorso)\b", re.IGNORECASE)
MENTION = re.compile(r"@([A-Za-z0-9._-]+)")


class ContestCalendar(Protocol):
    """Answers whether a contest activation explains ``growth`` followers at an event time."""

    def active(self, creator_id: str, at_ms: int, growth: int = 0) -> str | None: ...


class CaptionContest(msgspec.Struct, array_like=True, frozen=True):
    at_ms: int
    media_id: str


class CaptionSignals:
    """Contests announced in captions and shoutouts, each remembered for a while.

    Memory is bounded by the number of creators: one timestamp per creator and signal.
    Both live in the store (tables ``caption_contests`` and ``shoutouts``), on the
    partition of the media that carried the caption.
    """

    def __init__(self, contest_ms: int = 72 * HOUR_MS, shoutout_ms: int = 48 * HOUR_MS,
                 store: Store | None = None) -> None:
        store = store if store is not None else Store()
        self.contest_ms = contest_ms
        self.shoutout_ms = shoutout_ms
        self._contests = store.structs("caption_contests", CaptionContest)
        self._contest = self._contests.values
        self._shoutouts = store.structs("shoutouts", int)
        self._shoutout = self._shoutouts.values

    def observe_caption(self, creator_id: str, media_id: str, caption: str, at_ms: int,
                        partition: int) -> None:
        if CONTEST_WORDS.search(caption):
            self._contests.put(creator_id, CaptionContest(at_ms, media_id), partition)
        for mentioned in MENTION.findall(caption):
            if mentioned != creator_id and at_ms > self._shoutout.get(mentioned, -1):
                self._shoutouts.put(mentioned, at_ms, partition)

    def active(self, creator_id: str, at_ms: int, growth: int = 0) -> str | None:
        seen = self._contest.get(creator_id)
        if seen is not None and 0 <= at_ms - seen.at_ms <= self.contest_ms:
            return seen.media_id
        return None

    def shoutout(self, creator_id: str, at_ms: int) -> bool:
        seen = self._shoutout.get(creator_id)
        return seen is not None and 0 <= at_ms - seen <= self.shoutout_ms
