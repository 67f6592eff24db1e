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

from typing import Any

import orjson

from campaignpulse.streams.authenticity.audience import Profile
from campaignpulse.streams.authenticity.followers import FollowerSample
from campaignpulse.streams.contract import (
    MAX_FUTURE_MS,
    MAX_KEY_BYTES,
    MAX_TIMESTAMP_MS,
    MAX_VALUE_BYTES,
    Reason,
    Rejected,
    _count,
    _string,
    _timestamp,
    _utf8,
)

FOLLOWER_SAMPLES_TOPIC = "ig.follower_samples"
#: Instagram biographies have at most 150 characters; a little room for other counts
MAX_BIOGRAPHY_CHARS = 1000
#: usernames have at most 30 characters
MAX_USERNAME_DIGITS = 30


def decode_follower_sample(key: bytes | None, value: bytes | None, now_ms: int) -> FollowerSample:
    """Decode one ``ig.follower_samples`` record, or raise :class:`Rejected`."""
    if value is None:
        raise Rejected(Reason.MALFORMED_JSON, "null value")
    if len(value) > MAX_VALUE_BYTES:
        raise Rejected(Reason.SCHEMA, f"value of {len(value)} bytes, more than {MAX_VALUE_BYTES}")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise Rejected(Reason.SCHEMA, "value nested too deep") from None
        raise Rejected(Reason.MALFORMED_JSON, str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise Rejected(Reason.SCHEMA, "value is not a JSON object")
    sample = follower_sample(obj)
    ts = sample.observed_at_ms
    if ts > now_ms + MAX_FUTURE_MS or ts >= MAX_TIMESTAMP_MS:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, "timestamp more than a day in the future")
    if ts < 0:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, "timestamp before 1970")
    if key is None or len(key) > MAX_KEY_BYTES or _utf8(key) != sample.creator_id:
        raise Rejected(Reason.KEY_MISMATCH, "record key must equal creator_id")
    return sample


def follower_sample(obj: dict[str, Any]) -> FollowerSample:
    """Validate a parsed JSON object against the topic's contract."""
    return FollowerSample(
        creator_id=_string(obj, "creator_id"),
        follower_id=_string(obj, "follower_id"),
        observed_at_ms=_timestamp(obj, "observed_at"),
        profile=Profile(
            followers=_count(obj, "followers_count"),
            follows=_count(obj, "follows_count"),
            posts=_count(obj, "media_count"),
            has_profile_picture=_boolean(obj, "has_profile_picture"),
            private=_boolean(obj, "is_private"),
            biography_length=_small(obj, "biography_length", MAX_BIOGRAPHY_CHARS),
            username_digits=_small(obj, "username_digit_count", MAX_USERNAME_DIGITS),
        ),
    )


def _boolean(obj: dict[str, Any], name: str) -> bool:
    value = obj.get(name)
    if not isinstance(value, bool):
        raise Rejected(Reason.SCHEMA, f"{name} must be a boolean")
    return value


def _small(obj: dict[str, Any], name: str, limit: int) -> int | None:
    """An optional count with a hard upper bound (absent or null: unknown)."""
    if obj.get(name) is None:
        return None
    value = _count(obj, name)
    if value > limit:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, f"{name} above {limit}")
    return value


def comment_text(value: bytes | None) -> str | None:
    """The text of an already validated ``ig.interactions`` value (None without one)."""
    text = orjson.loads(value or b"{}").get("text")
    return text if isinstance(text, str) and text else None
