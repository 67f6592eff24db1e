"""The event contract: topics, kinds, and decoding of raw Kafka values into typed events.

Decoding is hand-written rather than driven by a JSON Schema validator because it runs
once per event on the hot path; ``streams/schemas/*.json`` states the same contract for
producers, and a unit test keeps the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from campaignpulse.streams.timestamps import TimestampError, parse_timestamp_ms

MEDIA_TOPIC = "ig.media"
INTERACTIONS_TOPIC = "ig.interactions"
FOLLOWERS_TOPIC = "ig.followers"
DLQ_TOPIC = "campaignpulse.dlq"
INPUT_TOPICS = (MEDIA_TOPIC, INTERACTIONS_TOPIC, FOLLOWERS_TOPIC)

#: Interaction kinds in column order; the index is the counter slot in a window.
KINDS = (
    "like",
    "comment",
    "save",
    "share",
    "story_view",
    "story_reply",
    "story_tap_forward",
    "story_tap_back",
    "story_exit",
    "reel_play",
)
KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}
#: Kinds that make up "interactions" (the engagement numerator).
ENGAGEMENT_KINDS = frozenset({0, 1, 2, 3})
#: Kinds that prove the actor saw the media: the "reach" denominator.
VIEW_KINDS = frozenset({KIND_INDEX["story_view"], KIND_INDEX["reel_play"]})
MEDIA_PRODUCT_TYPES = frozenset({"FEED", "REELS", "STORY"})

#: Events this far ahead of their record's clock are impossible, not early.
MAX_FUTURE_MS = 24 * 3600 * 1000

# Bounds of the contract. Each keeps every stored or derived value inside its column
# (UInt64/Int64 counts and growths, DateTime seconds until 2106) and what the core holds
# from one record small, whatever a producer sends.
#: a record value larger than this is refused before it is parsed
MAX_VALUE_BYTES = 64 * 1024
#: the longest key that can equal a creator_id (256 characters of UTF-8)
MAX_KEY_BYTES = 1024
#: ids (event, creator, media, campaign, actor)
MAX_ID_CHARS = 256
#: caption and comment text; Instagram allows 2,200 characters
MAX_TEXT_CHARS = 4096
#: follower and follows counts; the largest real account has under 10^9
MAX_COUNT = 10**10
#: epoch ms of 2100-01-01T00:00:00Z: timestamps are from 1970 up to (not including) this
MAX_TIMESTAMP_MS = 4_102_444_800_000
#: an RFC 3339 timestamp with nanoseconds and an offset has 35 characters
MAX_TIMESTAMP_CHARS = 40


class Reason(StrEnum):
    """Why an input record went to the dead-letter topic."""

    MALFORMED_JSON = "malformed_json"
    SCHEMA = "schema"
    UNKNOWN_KIND = "unknown_kind"
    IMPOSSIBLE_VALUE = "impossible_value"
    KEY_MISMATCH = "key_mismatch"
    LATE = "late"
    MALFORMED_LINE = "malformed_line"
    INTERNAL_ERROR = "internal_error"
    #: a row derived from valid input that the warehouse refused as bad data
    SINK_REJECTED = "sink_rejected"


@dataclass(frozen=True, slots=True)
class Interaction:
    event_id: str
    creator_id: str
    media_id: str
    campaign_id: str  # "" when the event has no campaign
    kind: int  # index into KINDS
    actor_id: str
    occurred_at_ms: int


@dataclass(frozen=True, slots=True)
class Media:
    media_id: str
    creator_id: str
    campaign_id: str
    media_product_type: str
    published_at_ms: int
    paid_partnership: bool
    caption: str | None


@dataclass(frozen=True, slots=True)
class FollowerSnapshot:
    creator_id: str
    followers_count: int
    follows_count: int
    observed_at_ms: int


Event = Interaction | Media | FollowerSnapshot


class Rejected(Exception):  # noqa: N818 - it is a verdict, not an error in our code
    """A record that breaks the contract, with the dead-letter reason."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode(topic: str, key: bytes | None, value: bytes | None, clock_ms: int) -> Event:
    """Decode one Kafka record of an input topic, or raise :class:`Rejected`.

    ``clock_ms``: the record's clock (``streams/clock.py``); an event more than a day
    ahead of it is impossible. -1: the record has no clock, only the contract's range
    applies."""
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
    if 0 <= clock_ms < ts - MAX_FUTURE_MS or ts >= MAX_TIMESTAMP_MS:
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
