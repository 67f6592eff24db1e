"""Innocent causes of real follower growth, seen from the events the worker already reads.

Contests (giveaways) come from ``ig.contests`` (``streams/contests``); for a creator
without one, a caption that announces a giveaway opens one as a fallback. A shoutout is another
creator's caption that mentions ``@creator_id``.
"""

from __future__ import annotations

import re
from typing import Protocol

HOUR_MS = 3_600_000
CONTEST_WORDS = re.compile(r"#(giveaway|contest|gewinnspiel|sorteo|concorso)\b", re.IGNORECASE)
MENTION = re.compile(r"@([A-Za-z0-9._-]+)")


class ContestCalendar(Protocol):
    """Answers whether a contest activation explains ``growth`` followers at an event time."""

    def active(self, creator_id: str, at_ms: int, growth: int = 0) -> str | None: ...


class CaptionSignals:
    """Contests announced in captions and shoutouts, each remembered for a while.

    Memory is bounded by the number of creators: one timestamp per creator and signal.
    """

    def __init__(self, contest_ms: int = 72 * HOUR_MS, shoutout_ms: int = 48 * HOUR_MS) -> None:
        self.contest_ms = contest_ms
        self.shoutout_ms = shoutout_ms
        self._contest: dict[str, tuple[int, str]] = {}
        self._shoutout: dict[str, int] = {}

    def observe_caption(self, creator_id: str, media_id: str, caption: str, at_ms: int) -> None:
        if CONTEST_WORDS.search(caption):
            self._contest[creator_id] = (at_ms, media_id)
        for mentioned in MENTION.findall(caption):
            if mentioned != creator_id:
                self._shoutout[mentioned] = max(at_ms, self._shoutout.get(mentioned, at_ms))

    def active(self, creator_id: str, at_ms: int, growth: int = 0) -> str | None:
        seen = self._contest.get(creator_id)
        if seen is not None and 0 <= at_ms - seen[0] <= self.contest_ms:
            return seen[1]
        return None

    def shoutout(self, creator_id: str, at_ms: int) -> bool:
        seen = self._shoutout.get(creator_id)
        return seen is not None and 0 <= at_ms - seen <= self.shoutout_ms
