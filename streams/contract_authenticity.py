"""The follower-sample contract (``ig.follower_samples``) and comment text for authenticity.

``ig.follower_samples`` is keyed by ``creator_id`` like the event topics: one record is
one sampled follower's public profile, so a bad profile costs only itself (dead-lettered
with the usual reasons: ``malformed_json``, ``schema``, ``impossible_value``,
``key_mismatch``). The profile is scored when it arrives and only the verdict is kept.

Comment text already travels in ``ig.interactions``; the core needs it for comments only
(a few per cent of the events), so :func:`comment_text` reads it from the value of an
already validated comment instead of every record carrying it through decoding.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
import orjson
from msgspec import Meta

from campaignpulse.streams.authenticity.audience import Profile
from campaignpulse.streams.authenticity.followers import FollowerSample
from campaignpulse.streams.contract import (
    MAX_COUNT,
    MAX_ID_CHARS,
    Count,
    Id,
    Timestamp,
    WireDecoder,
    check_key,
    event_time_ms,
)

FOLLOWER_SAMPLES_TOPIC = "ig.follower_samples"
#: Instagram biographies have at most 150 characters; a little room for other counts
MAX_BIOGRAPHY_CHARS = 1000
#: usernames have at most 30 characters
MAX_USERNAME_DIGITS = 30
UNUSED = "accepted, not used by the shipped model"


class FollowerSampleIn(msgspec.Struct, kw_only=True, gc=False):
    """The wire type of ``ig.follower_samples``; its JSON Schema is generated from it."""

    creator_id: Id
    follower_id: Annotated[str, Meta(
        min_length=1, max_length=MAX_ID_CHARS, description=(
            "the sampled follower (a stable pseudonym is enough): a follower sampled "
            "again counts once"))]
    observed_at: Timestamp
    followers_count: Count
    follows_count: Count
    media_count: Annotated[int, Meta(ge=0, le=MAX_COUNT, description="posts")]
    has_profile_picture: bool
    is_private: bool
    biography_length: Annotated[int, Meta(
        ge=0, le=MAX_BIOGRAPHY_CHARS, description=f"characters; {UNUSED}")] | None = None
    username_digit_count: Annotated[int, Meta(
        ge=0, le=MAX_USERNAME_DIGITS, description=UNUSED)] | None = None

    def event(self, clock_ms: int) -> FollowerSample:
        profile = Profile(self.followers_count, self.follows_count, self.media_count,
                          self.has_profile_picture, self.is_private, self.biography_length,
                          self.username_digit_count)
        return FollowerSample(self.creator_id, self.follower_id,
                              event_time_ms("observed_at", self.observed_at, clock_ms), profile)


_SAMPLES = WireDecoder(FollowerSampleIn)


def decode_follower_sample(key: bytes | None, value: bytes | None,
                           clock_ms: int) -> FollowerSample:
    """Decode one ``ig.follower_samples`` record, or raise :class:`Rejected`; ``clock_ms``
    as in :func:`~campaignpulse.streams.contract.decode`."""
    sample = _SAMPLES.decode(value).event(clock_ms)
    check_key(key, sample.creator_id)
    return sample


def comment_text(value: bytes | None) -> str | None:
    """The text of an already validated ``ig.interactions`` value (None without one)."""
    text = orjson.loads(value or b"{}").get("text")
    return text if isinstance(text, str) and text else None
