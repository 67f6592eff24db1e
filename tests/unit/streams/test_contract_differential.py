"""The msgspec decoders against the hand-written ones they replaced and against the published
JSON Schemas, on generated values: valid, near-valid (a few fields broken, missing or
extra) and hostile (any JSON anywhere, mangled bytes, huge numbers, deep nesting)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaignpulse.streams import contract_schemas
from campaignpulse.streams.contract import (
    FOLLOWERS_TOPIC,
    INPUT_TOPICS,
    INTERACTIONS_TOPIC,
    KINDS,
    MAX_COUNT,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_TIMESTAMP_MS,
    MEDIA_TOPIC,
    Reason,
    Rejected,
    decode,
)
from campaignpulse.streams.contract_authenticity import (
    FOLLOWER_SAMPLES_TOPIC,
    MAX_BIOGRAPHY_CHARS,
    decode_follower_sample,
)
from campaignpulse.streams.timestamps import TimestampError, format_timestamp_ms, text_to_ms

from . import contract_before_msgspec as before

NOW = 1_795_888_800_000  # 2026-11-28T18:00:00Z
#: a clock past 2100: no timestamp the schemas allow is "more than a day ahead" of it
LATE_CLOCK = MAX_TIMESTAMP_MS + 7 * 86_400_000
#: a record without a clock (no header, no Kafka timestamp): only the range applies
NO_CLOCK = -1

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3),
    max_leaves=8,
)
ids = (st.text(min_size=1, max_size=6)
       | st.sampled_from(["", "x" * MAX_ID_CHARS, "x" * (MAX_ID_CHARS + 1), "é" * MAX_ID_CHARS]))
optional_ids = st.none() | ids
texts = st.none() | st.text(max_size=6) | st.sampled_from(["t" * MAX_TEXT_CHARS,
                                                           "t" * (MAX_TEXT_CHARS + 1)])
epoch_ms = (st.integers(0, MAX_TIMESTAMP_MS - 1)
            | st.sampled_from([-1, 0, MAX_TIMESTAMP_MS - 1, MAX_TIMESTAMP_MS, NOW + 86_400_000,
                               NOW + 86_400_001, 2**63, 2**64 - 1, 2**64, -(2**63) - 1]))
timestamps = (
    epoch_ms
    | epoch_ms.filter(lambda ms: 0 <= ms < MAX_TIMESTAMP_MS).map(format_timestamp_ms)
    | st.sampled_from([
        "2026-11-28T17:59:00Z", "2026-11-28t17:59:00.5z", "2026-11-28T19:59:00.123+02:00",
        "2026-11-28T17:59:00", "2026-11-28 17:59:00Z", "2026-11-28T17:59:00+0100",
        "2026-11-28T17:59+01:00", "2026-W48-6T17:59:00Z", "2026-11-28T17:59:00,5Z",
        "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+01:00", "2099-12-31T23:30:00-01:00",
        "2100-01-01T00:30:00+01:00", "2026-02-30T00:00:00Z", "2026-11-28T17:59:00.9999999Z",
        "2026-11-28T17:59:00" + "0" * 30 + "Z", "2026-11-28T17:59:00.000000000001Z",
    ])
    | st.floats()
    | st.text(max_size=24)
)
counts = (st.integers(-2, MAX_COUNT + 2)
          | st.sampled_from([0, MAX_COUNT, MAX_COUNT + 1, 2**63, 2**64 - 1, 2**64, 2**70,
                             -(2**63), -(2**63) - 1, 1.0, 1e3, -0.0, 0.5, True]))
kinds = st.sampled_from([*KINDS, "poke", "", "LIKE", "x" * MAX_ID_CHARS, "x" * 257])
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    INTERACTIONS_TOPIC: {
        "event_id": ids, "creator_id": ids, "media_id": ids, "campaign_id": optional_ids,
        "kind": kinds, "actor_id": ids, "occurred_at": timestamps, "text": texts,
    },
    MEDIA_TOPIC: {
        "media_id": ids, "creator_id": ids, "campaign_id": optional_ids,
        "media_product_type": st.sampled_from(["FEED", "REELS", "STORY", "IGTV", "feed", ""]),
        "published_at": timestamps, "caption": texts,
        "paid_partnership": st.booleans() | st.sampled_from([0, 1, "true", None]),
    },
    FOLLOWERS_TOPIC: {
        "creator_id": ids, "followers_count": counts, "follows_count": counts,
        "observed_at": timestamps,
    },
    FOLLOWER_SAMPLES_TOPIC: {
        "creator_id": ids, "follower_id": ids, "observed_at": timestamps,
        "followers_count": counts, "follows_count": counts, "media_count": counts,
        "has_profile_picture": st.booleans() | st.sampled_from([0, None]),
        "is_private": st.booleans() | st.sampled_from([1, "no"]),
        "biography_length": st.none() | st.integers(-1, MAX_BIOGRAPHY_CHARS + 1) | counts,
        "username_digit_count": st.none() | st.integers(-1, 31) | counts,
    },
}
#: topics keyed by creator, each with its decoder, before and after msgspec
TOPICS = [*INPUT_TOPICS, FOLLOWER_SAMPLES_TOPIC]
DECODERS = {
    "new": {**{t: decode for t in INPUT_TOPICS},
            FOLLOWER_SAMPLES_TOPIC: lambda _, key, raw, now: decode_follower_sample(key, raw, now)},
    "before": {**{t: before.decode for t in INPUT_TOPICS},
               FOLLOWER_SAMPLES_TOPIC:
                   lambda _, key, raw, now: before.decode_follower_sample(key, raw, now)},
}
VALID = {
    INTERACTIONS_TOPIC: {"event_id": "e1", "creator_id": "c1", "media_id": "m1",
                         "campaign_id": None, "kind": "comment", "actor_id": "a1",
                         "occurred_at": "2026-11-28T17:59:00.250Z", "text": "hi"},
    MEDIA_TOPIC: {"media_id": "m1", "creator_id": "c1", "campaign_id": "k1",
                  "media_product_type": "REELS", "published_at": 1_795_860_000_000,
                  "caption": "#ad", "paid_partnership": True},
    FOLLOWERS_TOPIC: {"creator_id": "c1", "followers_count": 12_000, "follows_count": 300,
                      "observed_at": "2026-11-28T17:00:00+00:00"},
    FOLLOWER_SAMPLES_TOPIC: {"creator_id": "c1", "follower_id": "f1",
                             "observed_at": "2026-11-28T17:00:00Z", "followers_count": 40,
                             "follows_count": 3100, "media_count": 0,
                             "has_profile_picture": False, "is_private": False,
                             "biography_length": None, "username_digit_count": 4},
}


@st.composite
def objects(draw: st.DrawFn, topic: str) -> dict[str, Any]:
    """A valid value with up to three fields redrawn, replaced by any JSON or left out,
    and maybe fields the contract does not name."""
    obj = dict(VALID[topic])
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS[topic])), max_size=3, unique=True)):
        change = draw(st.sampled_from(["redraw", "redraw", "redraw", "junk", "drop"]))
        if change == "redraw":
            obj[name] = draw(FIELDS[topic][name])
        elif change == "junk":
            obj[name] = draw(json_values)
        else:
            del obj[name]
    if draw(st.integers(0, 3)) == 0:
        obj.update(draw(st.dictionaries(st.text(max_size=5), json_values, max_size=2)))
    return obj


def text_of(obj: dict[str, Any]) -> bytes:
    """JSON as a producer might write it: stdlib json writes integers past 64 bits (orjson
    cannot), and NaN or lone surrogates, which are not JSON."""
    return json.dumps(obj).encode("utf-8", "surrogatepass")


@st.composite
def mangled(draw: st.DrawFn, raw: bytes) -> bytes:
    how = draw(st.sampled_from(["none"] * 6 + ["cut", "insert", "nest", "duplicate"]))
    at = draw(st.integers(0, len(raw)))
    if how == "cut":
        return raw[:at]
    if how == "insert":
        junk = [b"\xff", b"\xed\xa0\x80", b"\\", b'"', b",", b"1e400", b"-", b"\x00", b" "]
        return raw[:at] + draw(st.sampled_from(junk)) + raw[at:]
    if how == "nest":
        depth = draw(st.sampled_from([10, 1023, 1024, 1025, 5000]))
        return b'{"deep":' + b"[" * depth + b"]" * depth + b"," + raw[1:]
    if how == "duplicate":  # JSON objects with repeated names: the last one counts
        name = draw(st.sampled_from(sorted(FIELDS[INTERACTIONS_TOPIC])))
        first = json.dumps(draw(json_values)).encode("utf-8", "surrogatepass")
        return b'{"' + name.encode() + b'":' + first + b"," + raw[1:]
    return raw


def key_for(obj: dict[str, Any], choice: str) -> bytes | None:
    creator = obj.get("creator_id")
    if choice == "creator" and isinstance(creator, str):
        return creator.encode("utf-8", "surrogatepass")
    return {"none": None, "other": b"someone-else", "not utf-8": b"\xff",
            "creator": b"c1"}[choice]


def outcome(side: str, topic: str, key: bytes | None, raw: bytes, now_ms: int) -> Any:
    decoder = DECODERS[side].get(topic, DECODERS[side][MEDIA_TOPIC])
    try:
        return decoder(topic, key, raw, now_ms)
    except Rejected as rejected:
        assert len(rejected.detail) <= 300
        return rejected.reason


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_same_events_and_same_reasons_as_the_decoder_it_replaced(data: st.DataObject) -> None:
    topic = data.draw(st.sampled_from(TOPICS * 3 + ["ig.other"]))
    obj = data.draw(objects(topic if topic in FIELDS else MEDIA_TOPIC))
    raw = data.draw(mangled(text_of(obj)))
    key = key_for(obj, data.draw(st.sampled_from(["creator", "creator", "none", "other",
                                                  "not utf-8"])))
    now_ms = data.draw(st.sampled_from([NOW, NOW, LATE_CLOCK, NO_CLOCK]))
    assert outcome("new", topic, key, raw, now_ms) == outcome("before", topic, key, raw, now_ms)


EDGES = [json.dumps(v) for v in (
    None, True, False, 0, -1, 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1,
    10**20, MAX_COUNT, MAX_COUNT + 1, MAX_TIMESTAMP_MS - 1, MAX_TIMESTAMP_MS, 1.0, 1e3, -0.0,
    0.5, 1e300, "", "x", "x" * MAX_ID_CHARS, "x" * (MAX_ID_CHARS + 1),
    "t" * (MAX_TEXT_CHARS + 1), "2026-11-28T17:59:00Z", "poke", "like", "FEED", [], {},
    [[["2026-11-28T17:59:00Z"]]],
)] + ["1e400", "-1e400", "-0", "1E3", "99999999999999999999", "-99999999999999999999"]


#: a second fault beside each edge: which of two faults decides the reason
SECOND_FAULTS = [{}, {"kind": "poke"}, {"occurred_at": "2026-11-28T17:59:00"},
                 {"published_at": "2026-11-28T17:59:00"}, {"observed_at": "yesterday"},
                 {"followers_count": -1}, {"follows_count": 2**64 - 1}, {"media_count": -1},
                 {"username_digit_count": 31}, {"creator_id": ""}]


@pytest.mark.parametrize("topic", TOPICS)
def test_every_field_at_its_edges_gets_the_old_verdict(topic: str) -> None:
    for second in SECOND_FAULTS:
        if not set(second) <= set(FIELDS[topic]):
            continue
        for name in set(FIELDS[topic]) - set(second):
            text = json.dumps({**VALID[topic], **second, name: "@@"})
            for edge in EDGES:
                raw = text.replace('"@@"', edge).encode()
                new = outcome("new", topic, b"c1", raw, NOW)
                assert new == outcome("before", topic, b"c1", raw, NOW), (second, name, edge)


@given(st.binary(max_size=300))
def test_same_verdict_on_arbitrary_bytes(raw: bytes) -> None:
    for topic in TOPICS:
        assert outcome("new", topic, b"c1", raw, NOW) == outcome("before", topic, b"c1", raw, NOW)


SCHEMAS = {topic: contract_schemas.input_schemas()[f"{topic}.json"] for topic in TOPICS}
RFC3339 = re.compile(contract_schemas.RFC3339_1970_2099)
TIME_FIELD = {INTERACTIONS_TOPIC: "occurred_at", MEDIA_TOPIC: "published_at",
              FOLLOWERS_TOPIC: "observed_at", FOLLOWER_SAMPLES_TOPIC: "observed_at"}
INTEGER_FIELDS = {"followers_count", "follows_count", "media_count", "biography_length",
                  "username_digit_count", *TIME_FIELD.values()}


def beyond_json_schema(topic: str, obj: dict[str, Any]) -> bool:
    """The differences README ("Event contract") names: to JSON Schema 1.0 and 1e3 are
    integers; the decoder reads ISO 8601 timestamps that are not RFC 3339 and judges an
    instant's year in UTC, where the schema's pattern sees the local year."""
    if any(isinstance(obj.get(name), float) and obj[name].is_integer()
           for name in INTEGER_FIELDS):
        return True
    stamp = obj.get(TIME_FIELD[topic])
    if not isinstance(stamp, str) or len(stamp) > 40:
        return False
    try:
        ms = text_to_ms(stamp)
    except TimestampError:
        return False
    return (RFC3339.fullmatch(stamp) is not None) != (0 <= ms < MAX_TIMESTAMP_MS)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_published_schemas_accept_what_the_decoder_accepts(data: st.DataObject) -> None:
    topic = data.draw(st.sampled_from(TOPICS))
    obj = data.draw(objects(topic))
    raw = text_of(obj)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return  # not JSON (NaN, a lone surrogate): a schema says nothing about it
    decoded = outcome("new", topic, key_for(obj, "creator"), raw, LATE_CLOCK)
    validator = jsonschema.Draft202012Validator(
        SCHEMAS[topic], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    schema_ok = validator.is_valid(json.loads(raw))
    assert isinstance(parsed, dict)
    decoder_ok = not isinstance(decoded, Reason)
    assert schema_ok == decoder_ok or beyond_json_schema(topic, obj), (decoded, obj)


@pytest.mark.parametrize(("topic", "change", "schema_ok", "decoder_ok"), [
    (FOLLOWERS_TOPIC, {"followers_count": 1.0}, True, False),
    (INTERACTIONS_TOPIC, {"occurred_at": 1_795_888_740_000.0}, True, False),
    (INTERACTIONS_TOPIC, {"occurred_at": "2026-11-28T17:59:00+0100"}, False, True),
    (INTERACTIONS_TOPIC, {"occurred_at": "2026-W48-6T17:59:00Z"}, False, True),
    (INTERACTIONS_TOPIC, {"occurred_at": "1970-01-01T00:00:00+01:00"}, True, False),
    (INTERACTIONS_TOPIC, {"occurred_at": "2100-01-01T00:30:00+01:00"}, False, True),
])
def test_the_documented_differences_are_real(topic: str, change: dict[str, Any],
                                             schema_ok: bool, decoder_ok: bool) -> None:
    obj = {**VALID[topic], **change}
    validator = jsonschema.Draft202012Validator(
        SCHEMAS[topic], format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(obj) is schema_ok
    decoded = outcome("new", topic, b"c1", json.dumps(obj).encode(), LATE_CLOCK)
    assert (not isinstance(decoded, Reason)) is decoder_ok
    assert beyond_json_schema(topic, obj)
