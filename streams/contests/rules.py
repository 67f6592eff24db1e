"""Entries of a contest, judged against its rules; one verdict per entry.

An entry is a comment on the contest media. Checks run in this order and the first that
fails names the reason: ``before_start`` (event time < starts_at), ``after_end`` (≥ ends_at),
``own_account`` (the creator commenting), ``too_few_mentions`` (distinct @accounts other
than the creator and the entrant), ``missing_hashtag`` (every required hashtag, whole and
case-insensitive), ``no_like`` (``must_like``: no like on the contest media from the
entrant with event time before ends_at), ``repeat_entrant`` (``one_entry_per_account``:
the account already has a counted entry earlier by event time, ties by event id).
Before the contest is final (its end plus the allowed lateness has passed by event
time), an entry waiting only for its like is ``provisional``, not ``no_like``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from campaignpulse.streams.contests.definition import Contest
from campaignpulse.streams.disclosure import HASHTAG

MENTION = re.compile(r"@([A-Za-z0-9._]{1,30})")


class Verdict(StrEnum):
    VALID = "valid"
    PROVISIONAL = "provisional"
    BEFORE_START = "before_start"
    AFTER_END = "after_end"
    OWN_ACCOUNT = "own_account"
    TOO_FEW_MENTIONS = "too_few_mentions"
    MISSING_HASHTAG = "missing_hashtag"
    NO_LIKE = "no_like"
    REPEAT_ENTRANT = "repeat_entrant"


INVALID_REASONS = tuple(v for v in Verdict if v not in (Verdict.VALID, Verdict.PROVISIONAL))


@dataclass(frozen=True, slots=True)
class CommentFeatures:
    """What the rules need from a comment's text; the text itself is never kept."""

    mentions: frozenset[str]
    hashtags: frozenset[str]
    fingerprint: int  # 64-bit hash of the normalised text; 0 for no text


def normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def features(text: str | None) -> CommentFeatures:
    if not text:
        return CommentFeatures(frozenset(), frozenset(), 0)
    mentions = frozenset(m.rstrip(".").casefold() for m in MENTION.findall(text))
    tags = frozenset(t.casefold() for t in HASHTAG.findall(text))
    digest = hashlib.blake2b(normalise(text).encode(), digest_size=8).digest()
    return CommentFeatures(mentions, tags, int.from_bytes(digest, "big") or 1)


@dataclass(frozen=True, slots=True)
class Entry:
    event_id: str
    actor_id: str
    at_ms: int
    features: CommentFeatures


def judge(
    contest: Contest, entries: Sequence[Entry], likes: Mapping[str, int], final: bool
) -> list[tuple[Entry, Verdict]]:
    """Verdicts in event-time order. ``likes``: entrant -> earliest like on the media."""
    rules = contest.rules
    creator = contest.creator_id.casefold()
    counted: set[str] = set()
    out = []
    for entry in sorted(entries, key=lambda e: (e.at_ms, e.event_id)):
        f = entry.features
        if entry.at_ms < contest.starts_at:
            verdict = Verdict.BEFORE_START
        elif entry.at_ms >= contest.ends_at:
            verdict = Verdict.AFTER_END
        elif entry.actor_id == contest.creator_id:
            verdict = Verdict.OWN_ACCOUNT
        elif len(f.mentions - {creator, entry.actor_id.casefold()}) < rules.min_mentions:
            verdict = Verdict.TOO_FEW_MENTIONS
        elif not set(rules.required_hashtags) <= f.hashtags:
            verdict = Verdict.MISSING_HASHTAG
        else:
            liked = likes.get(entry.actor_id, contest.ends_at) < contest.ends_at
            if rules.must_like and not liked and final:
                verdict = Verdict.NO_LIKE
            elif rules.one_entry_per_account and entry.actor_id in counted:
                verdict = Verdict.REPEAT_ENTRANT
            else:
                counted.add(entry.actor_id)
                verdict = Verdict.VALID if liked or not rules.must_like else Verdict.PROVISIONAL
        out.append((entry, verdict))
    return out
