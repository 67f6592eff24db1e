import itertools
import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.streams import contract_schemas
from campaignpulse.streams.contract import (
    FOLLOWERS_TOPIC,
    INPUT_TOPICS,
    INTERACTIONS_TOPIC,
    MAX_COUNT,
    MAX_TEXT_CHARS,
    MAX_VALUE_BYTES,
    MEDIA_TOPIC,
    FollowerSnapshot,
    Interaction,
    Media,
    Reason,
    Rejected,
    decode,
)
from campaignpulse.streams.timestamps import format_timestamp_ms, parse_timestamp_ms

NOW = parse_timestamp_ms("2026-11-28T18:00:00Z")


def interaction(**overrides):
    value = {
        "event_id": "e1", "creator_id": "c1", "media_id": "m1", "campaign_id": None,
        "kind": "like", "actor_id": "a1", "occurred_at": "2026-11-28T17:59:00.250Z",
        "text": None,
    }
    value.update(overrides)
    return value


def run(topic, value, key=b"c1"):
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return decode(topic, key, raw, NOW)


def test_interaction_decodes_with_rfc3339_and_null_campaign():
    event = run(INTERACTIONS_TOPIC, interaction())
    assert event == Interaction("e1", "c1", "m1", "", 0, "a1", NOW - 59_750)


def test_epoch_milliseconds_and_offsets_are_the_same_instant():
    a = parse_timestamp_ms("2026-11-28T19:00:00.123+01:00")
    b = parse_timestamp_ms("2026-11-28T18:00:00.123Z")
    assert a == b == run(INTERACTIONS_TOPIC, interaction(occurred_at=b)).occurred_at_ms


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", Reason.MALFORMED_JSON),
        (b"[1, 2]", Reason.SCHEMA),
        (interaction(kind="poke"), Reason.UNKNOWN_KIND),
        (interaction(event_id=""), Reason.SCHEMA),
        (interaction(actor_id=7), Reason.SCHEMA),
        (interaction(occurred_at="2026-11-28T17:59:00"), Reason.SCHEMA),  # no zone
        (interaction(occurred_at="yesterday"), Reason.SCHEMA),
        (interaction(occurred_at="2026-12-01T00:00:00Z"), Reason.IMPOSSIBLE_VALUE),
        (interaction(text=12), Reason.SCHEMA),
    ],
)
def test_contract_violations_name_their_reason(value, reason):
    with pytest.raises(Rejected) as info:
        run(INTERACTIONS_TOPIC, value)
    assert info.value.reason is reason


def test_key_must_be_the_creator_so_partitions_hold_whole_creators():
    with pytest.raises(Rejected) as info:
        run(INTERACTIONS_TOPIC, interaction(), key=b"someone-else")
    assert info.value.reason is Reason.KEY_MISMATCH
    with pytest.raises(Rejected):
        run(INTERACTIONS_TOPIC, interaction(), key=None)


def test_followers_negative_count_is_impossible():
    value = {"creator_id": "c1", "followers_count": -1, "follows_count": 3,
             "observed_at": "2026-11-28T17:00:00Z"}
    with pytest.raises(Rejected) as info:
        run(FOLLOWERS_TOPIC, value)
    assert info.value.reason is Reason.IMPOSSIBLE_VALUE
    value["followers_count"] = 12000
    assert run(FOLLOWERS_TOPIC, value) == FollowerSnapshot("c1", 12000, 3, NOW - 3_600_000)


def test_media_requires_known_product_type_and_boolean_partnership():
    value = {"media_id": "m1", "creator_id": "c1", "campaign_id": "k1",
             "media_product_type": "REELS", "published_at": "2026-11-28T10:00:00Z",
             "caption": "#ad new drop", "paid_partnership": True}
    assert isinstance(run(MEDIA_TOPIC, value), Media)
    with pytest.raises(Rejected):
        run(MEDIA_TOPIC, {**value, "media_product_type": "IGTV"})
    with pytest.raises(Rejected):
        run(MEDIA_TOPIC, {**value, "paid_partnership": "yes"})


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_timestamp_round_trip(ms):
    assert parse_timestamp_ms(format_timestamp_ms(ms)) == ms


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_other_errors(raw):
    try:
        run(INTERACTIONS_TOPIC, raw)
    except Rejected:
        pass


def test_json_schemas_agree_with_the_decoder():
    jsonschema = pytest.importorskip("jsonschema")
    from importlib.resources import files

    schemas = {
        topic: json.loads(files("streams").joinpath(f"schemas/{topic}.json").read_text())
        for topic in (MEDIA_TOPIC, INTERACTIONS_TOPIC, FOLLOWERS_TOPIC)
    }
    cases = [
        (INTERACTIONS_TOPIC, interaction(), True),
        (INTERACTIONS_TOPIC, interaction(kind="poke"), False),
        (INTERACTIONS_TOPIC, interaction(occurred_at=1764352740250), True),
        (INTERACTIONS_TOPIC, interaction(occurred_at="2026-11-28T17:59:00"), False),
        (INTERACTIONS_TOPIC, {k: v for k, v in interaction().items() if k != "actor_id"}, False),
        (FOLLOWERS_TOPIC, {"creator_id": "c", "followers_count": 1, "follows_count": 0,
                           "observed_at": "2026-11-28T17:00:00Z"}, True),
        (FOLLOWERS_TOPIC, {"creator_id": "c", "followers_count": -1, "follows_count": 0,
                           "observed_at": "2026-11-28T17:00:00Z"}, False),
        (MEDIA_TOPIC, {"media_id": "m", "creator_id": "c", "campaign_id": None,
                       "media_product_type": "STORY", "published_at": "2026-11-28T10:00:00Z",
                       "caption": None, "paid_partnership": False}, True),
        (MEDIA_TOPIC, {"media_id": "m", "creator_id": "c", "campaign_id": None,
                       "media_product_type": "IGTV", "published_at": "2026-11-28T10:00:00Z",
                       "caption": None, "paid_partnership": False}, False),
        # the bounds: counts, string lengths, timestamp range
        (FOLLOWERS_TOPIC, {"creator_id": "c", "followers_count": MAX_COUNT, "follows_count": 0,
                           "observed_at": "2026-11-28T17:00:00Z"}, True),
        (FOLLOWERS_TOPIC, {"creator_id": "c", "followers_count": MAX_COUNT + 1,
                           "follows_count": 0, "observed_at": "2026-11-28T17:00:00Z"}, False),
        (FOLLOWERS_TOPIC, {"creator_id": "c", "followers_count": 2**64 - 1,
                           "follows_count": 0, "observed_at": "2026-11-28T17:00:00Z"}, False),
        (FOLLOWERS_TOPIC, {"creator_id": "c", "followers_count": 1, "follows_count": 0,
                           "observed_at": "1969-12-31T23:59:59Z"}, False),
        (INTERACTIONS_TOPIC, interaction(campaign_id="k" * 256), True),
        (INTERACTIONS_TOPIC, interaction(campaign_id="k" * 257), False),
        (INTERACTIONS_TOPIC, interaction(text="t" * MAX_TEXT_CHARS), True),
        (INTERACTIONS_TOPIC, interaction(text="t" * (MAX_TEXT_CHARS + 1)), False),
        (INTERACTIONS_TOPIC, interaction(occurred_at=[[["2026-11-28T17:59:00Z"]]]), False),
        (INTERACTIONS_TOPIC, interaction(occurred_at="2026-11-28T17:59:00" + "0" * 30 + "Z"),
         False),
        (MEDIA_TOPIC, {"media_id": "m", "creator_id": "c", "campaign_id": None,
                       "media_product_type": "STORY", "published_at": "2026-11-28T10:00:00Z",
                       "caption": "c" * (MAX_TEXT_CHARS + 1), "paid_partnership": False}, False),
    ]
    checker = jsonschema.FormatChecker()
    for topic, value, ok in cases:
        schema_ok = jsonschema.Draft202012Validator(
            schemas[topic], format_checker=checker).is_valid(value)
        try:
            decode(topic, value["creator_id"].encode(), orjson.dumps(value), NOW)
            decoder_ok = True
        except Rejected:
            decoder_ok = False
        assert schema_ok == decoder_ok == ok, (topic, value)


def test_key_bytes_that_are_not_utf8_match_no_creator():
    # "replace" would turn b"\xff" into U+FFFD and match a creator of that name
    with pytest.raises(Rejected) as info:
        run(INTERACTIONS_TOPIC, interaction(creator_id="\ufffd"), key=b"\xff")
    assert info.value.reason is Reason.KEY_MISMATCH
    with pytest.raises(Rejected) as info:
        run(INTERACTIONS_TOPIC, interaction(), key=b"c1" + b"x" * 2000)
    assert info.value.reason is Reason.KEY_MISMATCH
    assert run(INTERACTIONS_TOPIC, interaction(creator_id="é"), key="é".encode()).creator_id == "é"


@pytest.mark.parametrize("depth", [1000, 1100])
def test_deeply_nested_timestamp_is_a_schema_error(depth):
    raw = orjson.dumps(interaction(occurred_at=None)).replace(
        b'"occurred_at":null', b'"occurred_at":' + b"[" * depth + b"1" + b"]" * depth
    )
    with pytest.raises(Rejected) as info:
        run(INTERACTIONS_TOPIC, raw)
    assert info.value.reason is Reason.SCHEMA
    assert len(info.value.detail) < 200


def test_huge_values_are_refused_without_copying_them():
    with pytest.raises(Rejected) as info:
        run(INTERACTIONS_TOPIC, interaction(occurred_at="2026-11-28T17:59:00Z" + "9" * 600_000))
    assert info.value.reason is Reason.SCHEMA
    assert len(info.value.detail) < 200
    junk = b"x" * (MAX_VALUE_BYTES + 1)
    with pytest.raises(Rejected) as info:
        run(INTERACTIONS_TOPIC, junk)
    assert info.value.reason is Reason.SCHEMA
    assert len(info.value.detail) < 200


@pytest.mark.parametrize(
    ("count", "reason"),
    [(2**64 - 1, Reason.IMPOSSIBLE_VALUE), (MAX_COUNT + 1, Reason.IMPOSSIBLE_VALUE),
     (2**64, Reason.SCHEMA), (2**70, Reason.SCHEMA), (1e3, Reason.SCHEMA)],
)
def test_counts_beyond_the_bound_are_refused(count, reason):
    raw = orjson.dumps({"creator_id": "c1", "follows_count": 3,
                        "observed_at": "2026-11-28T17:00:00Z"})[:-1]
    raw += b',"followers_count":' + str(count).encode() + b"}"  # orjson cannot write 2**64
    with pytest.raises(Rejected) as info:
        run(FOLLOWERS_TOPIC, raw)
    assert info.value.reason is reason


def test_epoch_timestamps_end_before_2100_whatever_the_clock():
    far = parse_timestamp_ms("2150-01-01T00:00:00Z")
    with pytest.raises(Rejected) as info:
        decode(INTERACTIONS_TOPIC, b"c1", orjson.dumps(interaction(occurred_at=far - 1000)), far)
    assert info.value.reason is Reason.IMPOSSIBLE_VALUE


@given(st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
                    | st.floats() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=30))
def test_any_json_in_any_field_is_accepted_or_rejected_with_a_reason(junk):
    for name in ("occurred_at", "event_id", "kind", "text", "campaign_id"):
        try:
            run(INTERACTIONS_TOPIC, interaction(**{name: junk}))
        except Rejected as rejected:
            assert rejected.reason is not Reason.INTERNAL_ERROR
            assert len(rejected.detail) <= 300


@pytest.mark.parametrize("name", sorted(contract_schemas.input_schemas()))
def test_committed_schema_is_the_generator_output(name):
    committed = (contract_schemas.SCHEMA_DIR / name).read_text()
    assert committed == contract_schemas.to_text(contract_schemas.input_schemas()[name]), (
        f"regenerate: python -m campaignpulse.streams.contract_schemas ({name} is stale)")


def test_simulator_output_is_valid_against_the_schemas():
    """What our producers send, against the published schemas (themselves valid 2020-12
    documents) by a validator we did not write."""
    jsonschema = pytest.importorskip("jsonschema")
    sim = CampaignSimulator(seed=3, start_ms=NOW - 86_400_000, creators=20)
    values = {topic: [] for topic in INPUT_TOPICS}
    for envelope in itertools.islice(sim.events(), 3000):
        values[envelope.topic].append(envelope.value)
    for topic, documents in values.items():
        schema = json.loads((contract_schemas.SCHEMA_DIR / f"{topic}.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        assert documents, topic
        for document in documents:
            validator.validate(document)
