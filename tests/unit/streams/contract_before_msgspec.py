"""The hand-written decoders that msgspec replaced (streams/contract.py and
streams/timestamps.py at b079d12, decode_follower_sample of streams/contract_authenticity.py
at 35f4cd3), kept verbatim for the differential test only: the new decoders must accept what
they accepted, build the same events and reject with their reasons. One change since: the
future check is the record-clock rule of issue 15 (``streams/clock.py``: a clock of -1 means
none, only the range applies), for follower samples too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from campaignpulse.streams.authenticity.audience import Profile
from campaignpulse.streams.authenticity.followers import FollowerSample
from campaignpulse.streams.contract import (
    FOLLOWERS_TOPIC,
    INTERACTIONS_TOPIC,
    KIND_INDEX,
    MAX_COUNT,
    MAX_FUTURE_MS,
    MAX_ID_CHARS,
    MAX_KEY_BYTES,
    MAX_TEXT_CHARS,
    MAX_TIMESTAMP_CHARS,
    MAX_TIMESTAMP_MS,
    MAX_VALUE_BYTES,
    MEDIA_PRODUCT_TYPES,
    MEDIA_TOPIC,
    Event,
    FollowerSnapshot,
    Interaction,
    Media,
    Reason,
    Rejected,
)
from campaignpulse.streams.contract_authenticity import MAX_BIOGRAPHY_CHARS, MAX_USERNAME_DIGITS
from campaignpulse.streams.timestamps import TimestampError


def parse_timestamp_ms(value: object) -> int:
    """Return epoch milliseconds for an RFC 3339 string with a zone or an int of epoch ms.

    Naive strings are refused: a timestamp without a zone means different instants
    to different producers, which would silently shift windows.
    """
    if isinstance(value, bool):
        raise TimestampError("boolean is not a timestamp")
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or len(value) < 20 or value[10] not in "Tt":
        raise TimestampError(f"not an RFC 3339 timestamp: {value!r}")
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise TimestampError(f"timestamp has no zone: {value!r}")
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def decode(topic: str, key: bytes | None, value: bytes | None, now_ms: int) -> Event:
    """Decode one Kafka record of an input topic, or raise :class:`Rejected`."""
    if value is None:
        raise Rejected(Reason.MALFORMED_JSON, "null value")
    if len(value) > MAX_VALUE_BYTES:
        raise Rejected(
            Reason.SCHEMA, f"value of {len(value)} bytes, more than {MAX_VALUE_BYTES}"
        )
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):  # valid JSON, nested deeper than any event is
            raise Rejected(Reason.SCHEMA, "value nested too deep") from None
        raise Rejected(Reason.MALFORMED_JSON, str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise Rejected(Reason.SCHEMA, "value is not a JSON object")
    event = decode_object(topic, obj)
    ts = _event_time(event)
    if 0 <= now_ms < ts - MAX_FUTURE_MS or ts >= MAX_TIMESTAMP_MS:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, "timestamp more than a day in the future")
    if ts < 0:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, "timestamp before 1970")
    if key is None or len(key) > MAX_KEY_BYTES or _utf8(key) != event.creator_id:
        raise Rejected(Reason.KEY_MISMATCH, "record key must equal creator_id")
    return event


def _utf8(key: bytes) -> str | None:
    """Strict: bytes that are not UTF-8 match no creator (no U+FFFD stand-ins)."""
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _event_time(event: Event) -> int:
    if isinstance(event, Interaction):
        return event.occurred_at_ms
    if isinstance(event, Media):
        return event.published_at_ms
    return event.observed_at_ms


def decode_object(topic: str, obj: dict[str, Any]) -> Event:
    """Validate a parsed JSON object against the topic's contract."""
    if topic == INTERACTIONS_TOPIC:
        kind = _string(obj, "kind")
        kind_index = KIND_INDEX.get(kind)
        if kind_index is None:
            raise Rejected(Reason.UNKNOWN_KIND, f"unknown kind {kind[:50]!r}")
        # validated, never stored: comment text stays out of SQL
        _optional_string(obj, "text", MAX_TEXT_CHARS)
        return Interaction(
            event_id=_string(obj, "event_id"),
            creator_id=_string(obj, "creator_id"),
            media_id=_string(obj, "media_id"),
            campaign_id=_optional_string(obj, "campaign_id", MAX_ID_CHARS) or "",
            kind=kind_index,
            actor_id=_string(obj, "actor_id"),
            occurred_at_ms=_timestamp(obj, "occurred_at"),
        )
    if topic == FOLLOWERS_TOPIC:
        return FollowerSnapshot(
            creator_id=_string(obj, "creator_id"),
            followers_count=_count(obj, "followers_count"),
            follows_count=_count(obj, "follows_count"),
            observed_at_ms=_timestamp(obj, "observed_at"),
        )
    if topic == MEDIA_TOPIC:
        product_type = _string(obj, "media_product_type")
        if product_type not in MEDIA_PRODUCT_TYPES:
            raise Rejected(Reason.SCHEMA, f"media_product_type {product_type[:20]!r}")
        paid = obj.get("paid_partnership")
        if not isinstance(paid, bool):
            raise Rejected(Reason.SCHEMA, "paid_partnership must be a boolean")
        return Media(
            media_id=_string(obj, "media_id"),
            creator_id=_string(obj, "creator_id"),
            campaign_id=_optional_string(obj, "campaign_id", MAX_ID_CHARS) or "",
            media_product_type=product_type,
            published_at_ms=_timestamp(obj, "published_at"),
            paid_partnership=paid,
            caption=_optional_string(obj, "caption", MAX_TEXT_CHARS),
        )
    raise Rejected(Reason.SCHEMA, f"not an input topic: {topic}")


def _string(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise Rejected(Reason.SCHEMA, f"{name} must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise Rejected(Reason.SCHEMA, f"{name} longer than {MAX_ID_CHARS} characters")
    return value


def _optional_string(obj: dict[str, Any], name: str, max_chars: int) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(Reason.SCHEMA, f"{name} must be a string or null")
    if len(value) > max_chars:
        raise Rejected(Reason.SCHEMA, f"{name} longer than {max_chars} characters")
    return value


def _count(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(Reason.SCHEMA, f"{name} must be an integer")
    if value < 0:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, f"{name} is negative")
    if value > MAX_COUNT:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, f"{name} above {MAX_COUNT}")
    return value


def _timestamp(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    # Checked before parsing so that no error message copies a huge or nested value.
    if isinstance(value, str):
        if len(value) > MAX_TIMESTAMP_CHARS:
            raise Rejected(
                Reason.SCHEMA, f"{name}: longer than {MAX_TIMESTAMP_CHARS} characters"
            )
    elif not isinstance(value, int) or isinstance(value, bool):
        raise Rejected(
            Reason.SCHEMA, f"{name}: RFC 3339 string or epoch ms, not {type(value).__name__}"
        )
    try:
        return parse_timestamp_ms(value)
    except TimestampError as exc:
        raise Rejected(Reason.SCHEMA, f"{name}: {exc}") from None


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
    if 0 <= now_ms < ts - MAX_FUTURE_MS or ts >= MAX_TIMESTAMP_MS:
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
