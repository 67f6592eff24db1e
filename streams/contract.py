"""The event contract: topics, kinds, and decoding of raw Kafka values into typed events.

The wire types below (``InteractionIn``, ``MediaIn``, ``FollowersIn``; ``FollowerSampleIn``
in ``contract_authenticity``) are the contract: msgspec decodes and validates a value
against them in one pass, and ``streams/contract_schemas.py`` generates their JSON Schemas
from them, so the decoders and the published schemas cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

import msgspec
import orjson
from msgspec import Meta

from campaignpulse.streams.timestamps import TimestampError, text_to_ms

MEDIA_TOPIC = "ig.media"
INTERACTIONS_TOPIC = "ig.interactions"
FOLLOWERS_TOPIC = "ig.followers"
DLQ_TOPIC = "campaignpulse.dlq"
INPUT_TOPICS = (MEDIA_TOPIC, INTERACTIONS_TOPIC, FOLLOWERS_TOPIC)

KindName = Literal[
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
]
#: Interaction kinds in column order; the index is the counter slot in a window.
KINDS: tuple[str, ...] = get_args(KindName)
KIND_INDEX = {kind: i for i, kind in enumerate(KINDS)}
#: Kinds that make up "interactions" (the engagement numerator).
ENGAGEMENT_KINDS = frozenset({0, 1, 2, 3})
#: Kinds that prove the actor saw the media: the "reach" denominator.
VIEW_KINDS = frozenset({KIND_INDEX["story_view"], KIND_INDEX["reel_play"]})
ProductType = Literal["FEED", "REELS", "STORY"]
MEDIA_PRODUCT_TYPES = frozenset(get_args(ProductType))

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


# The decoded events. Structs rather than dataclasses: built in C, and with gc=False the
# cyclic collector neither tracks nor counts them (they hold only strings and numbers).
class Interaction(msgspec.Struct, frozen=True, gc=False):
    event_id: str
    creator_id: str
    media_id: str
    campaign_id: str  # "" when the event has no campaign
    kind: int  # index into KINDS
    actor_id: str
    occurred_at_ms: int


class Media(msgspec.Struct, frozen=True, gc=False):
    media_id: str
    creator_id: str
    campaign_id: str
    media_product_type: str
    published_at_ms: int
    paid_partnership: bool
    caption: str | None


class FollowerSnapshot(msgspec.Struct, frozen=True, gc=False):
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


# The wire types. A value that breaks a constraint msgspec checks while it parses is a
# SCHEMA fault, except an integer out of its range (a count): IMPOSSIBLE_VALUE, like an
# instant outside 1970..2099 or more than a day ahead (checked once it is parsed).
Id = Annotated[str, Meta(min_length=1, max_length=MAX_ID_CHARS)]
OptionalId = Annotated[str, Meta(max_length=MAX_ID_CHARS)] | None
Text = Annotated[str, Meta(max_length=MAX_TEXT_CHARS)] | None
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
#: RFC 3339 with a zone (bounded before it is parsed, so no message copies a huge value),
#: or integer epoch ms; JSON floats and booleans are neither
Timestamp = Annotated[str, Meta(max_length=MAX_TIMESTAMP_CHARS)] | int


def event_time_ms(name: str, value: str | int, clock_ms: int) -> int:
    """The instant of a wire timestamp, checked against the contract's range and the
    record's clock (-1: none, only the range applies)."""
    if isinstance(value, int):
        # orjson, the decoder before msgspec, read integers past 64 bits as floats
        if not -(2**63) <= value < 2**64:
            raise Rejected(Reason.SCHEMA, f"{name}: an integer past 64 bits")
        ms = value
    else:
        try:
            ms = text_to_ms(value)
        except TimestampError as exc:
            raise Rejected(Reason.SCHEMA, f"{name}: {exc}") from None
    if 0 <= clock_ms < ms - MAX_FUTURE_MS or ms >= MAX_TIMESTAMP_MS:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, "timestamp more than a day in the future")
    if ms < 0:
        raise Rejected(Reason.IMPOSSIBLE_VALUE, "timestamp before 1970")
    return ms


class InteractionIn(msgspec.Struct, kw_only=True, gc=False):
    """ig.interactions: one interaction with one media."""

    event_id: Id
    creator_id: Id
    media_id: Id
    campaign_id: OptionalId = None
    kind: KindName
    actor_id: Id
    occurred_at: Timestamp
    #: validated, never stored: comment text stays out of SQL
    text: Text = None

    def event(self, clock_ms: int) -> Interaction:
        return Interaction(self.event_id, self.creator_id, self.media_id,
                           self.campaign_id or "", KIND_INDEX[self.kind], self.actor_id,
                           event_time_ms("occurred_at", self.occurred_at, clock_ms))


class MediaIn(msgspec.Struct, kw_only=True, gc=False):
    """ig.media: a post, reel or story."""

    media_id: Id
    creator_id: Id
    campaign_id: OptionalId = None
    media_product_type: ProductType
    published_at: Timestamp
    caption: Text = None
    paid_partnership: bool

    def event(self, clock_ms: int) -> Media:
        published_ms = event_time_ms("published_at", self.published_at, clock_ms)
        return Media(self.media_id, self.creator_id, self.campaign_id or "",
                     self.media_product_type, published_ms, self.paid_partnership,
                     self.caption)


class FollowersIn(msgspec.Struct, kw_only=True, gc=False):
    """ig.followers: a follower-count snapshot."""

    creator_id: Id
    followers_count: Count
    follows_count: Count
    observed_at: Timestamp

    def event(self, clock_ms: int) -> FollowerSnapshot:
        return FollowerSnapshot(self.creator_id, self.followers_count, self.follows_count,
                                event_time_ms("observed_at", self.observed_at, clock_ms))


Wire = InteractionIn | MediaIn | FollowersIn
#: topic -> its wire type: extra fields are allowed, as in the JSON Schemas
WIRE_TYPES: dict[str, type[Wire]] = {
    INTERACTIONS_TOPIC: InteractionIn, MEDIA_TOPIC: MediaIn, FOLLOWERS_TOPIC: FollowersIn,
}
W = TypeVar("W", bound=msgspec.Struct)


class WireDecoder(Generic[W]):
    """Values of one topic to its wire type, or :class:`Rejected`.

    The fast decoder refuses fields the contract does not name, because msgspec skips
    those without checking their UTF-8, number range or depth, which the contract refuses
    (malformed_json, schema) wherever they are. Such values, and every value the fast
    decoder refuses, take the slow path (``contract_verdict``).
    """

    def __init__(self, wire: type[W]) -> None:
        self.wire = wire
        closed = type(wire.__name__, (wire,), {}, forbid_unknown_fields=True)
        self._fast: msgspec.json.Decoder[W] = msgspec.json.Decoder(closed)

    def decode(self, value: bytes | None) -> W:
        raw = _bounded(value)
        try:
            return self._fast.decode(raw)
        except msgspec.DecodeError:
            from campaignpulse.streams.contract_verdict import slow_decode

            return slow_decode(self.wire, raw)


_DECODERS = {topic: WireDecoder[Wire](wire) for topic, wire in WIRE_TYPES.items()}


def decode(topic: str, key: bytes | None, value: bytes | None, clock_ms: int) -> Event:
    """Decode one Kafka record of an input topic, or raise :class:`Rejected`.

    ``clock_ms``: the record's clock (``streams/clock.py``); an event more than a day
    ahead of it is impossible. -1: the record has no clock, only the contract's range
    applies."""
    decoder = _DECODERS.get(topic)
    if decoder is None:
        json_object(_bounded(value))  # a bad value is reported first, as it always was
        raise Rejected(Reason.SCHEMA, f"not an input topic: {topic}"[:200])
    event = decoder.decode(value).event(clock_ms)
    check_key(key, event.creator_id)
    return event


def check_key(key: bytes | None, creator_id: str) -> None:
    """Strict UTF-8 by comparing bytes: a key that is not UTF-8 equals no creator_id's
    encoding (no U+FFFD stand-ins), and none is longer than MAX_KEY_BYTES."""
    if key != creator_id.encode():
        raise Rejected(Reason.KEY_MISMATCH, "record key must equal creator_id")


def _bounded(value: bytes | None) -> bytes:
    if value is None:
        raise Rejected(Reason.MALFORMED_JSON, "null value")
    if len(value) > MAX_VALUE_BYTES:
        raise Rejected(
            Reason.SCHEMA, f"value of {len(value)} bytes, more than {MAX_VALUE_BYTES}"
        )
    return value


def json_object(value: bytes) -> dict[str, Any]:
    """The JSON object in ``value``, or raise :class:`Rejected`."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):  # valid JSON, nested deeper than any event is
            raise Rejected(Reason.SCHEMA, "value nested too deep") from None
        raise Rejected(Reason.MALFORMED_JSON, str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise Rejected(Reason.SCHEMA, "value is not a JSON object")
    return obj
