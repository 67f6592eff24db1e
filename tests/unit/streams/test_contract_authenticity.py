"""ig.follower_samples: the decoder, its dead-letter reasons, and the JSON Schema agree."""

import json
from importlib.resources import files

import orjson
import pytest

from campaignpulse.streams.contract import MAX_COUNT, Reason, Rejected
from campaignpulse.streams.contract_authenticity import comment_text, decode_follower_sample
from campaignpulse.streams.timestamps import parse_timestamp_ms

NOW = parse_timestamp_ms("2026-11-28T18:00:00Z")


def sample(**overrides):
    value = {"creator_id": "c1", "follower_id": "f1", "observed_at": "2026-11-28T17:00:00Z",
             "followers_count": 40, "follows_count": 3100, "media_count": 0,
             "has_profile_picture": False, "is_private": False, "biography_length": None,
             "username_digit_count": 4}
    value.update(overrides)
    return value


def run(value, key=b"c1"):
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return decode_follower_sample(key, raw, NOW)


def test_a_sample_decodes():
    s = run(sample())
    assert (s.creator_id, s.follower_id, s.observed_at_ms) == ("c1", "f1", NOW - 3_600_000)
    assert (s.profile.followers, s.profile.follows, s.profile.posts) == (40, 3100, 0)
    assert s.profile.username_digits == 4 and s.profile.biography_length is None


@pytest.mark.parametrize(("value", "key", "reason"), [
    (b"{nope", b"c1", Reason.MALFORMED_JSON),
    (None, b"c1", Reason.MALFORMED_JSON),
    (b"[]", b"c1", Reason.SCHEMA),
    (sample(follower_id=""), b"c1", Reason.SCHEMA),
    (sample(is_private="yes"), b"c1", Reason.SCHEMA),
    (sample(media_count=1.5), b"c1", Reason.SCHEMA),
    (sample(followers_count=-1), b"c1", Reason.IMPOSSIBLE_VALUE),
    (sample(follows_count=MAX_COUNT + 1), b"c1", Reason.IMPOSSIBLE_VALUE),
    (sample(username_digit_count=31), b"c1", Reason.IMPOSSIBLE_VALUE),
    (sample(observed_at="2026-11-30T18:00:00Z"), b"c1", Reason.IMPOSSIBLE_VALUE),
    (sample(), b"c2", Reason.KEY_MISMATCH),
    (sample(), None, Reason.KEY_MISMATCH),
    (b"x" * 70_000, b"c1", Reason.SCHEMA),
])
def test_bad_records_are_rejected_with_a_reason(value, key, reason):
    with pytest.raises(Rejected) as info:
        decode_follower_sample(key, value if isinstance(value, bytes) or value is None
                               else orjson.dumps(value), NOW)
    assert info.value.reason is reason
    assert len(info.value.detail) < 300


def test_json_schema_agrees_with_the_decoder():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(files("campaignpulse.streams").joinpath(
        "schemas/ig.follower_samples.json").read_text())
    cases = [
        (sample(), True),
        (sample(biography_length=1000, username_digit_count=None), True),
        ({k: v for k, v in sample().items() if k not in ("biography_length",
                                                           "username_digit_count")}, True),
        (sample(biography_length=1001), False),
        (sample(followers_count=MAX_COUNT), True),
        (sample(followers_count=MAX_COUNT + 1), False),
        (sample(has_profile_picture=1), False),
        ({k: v for k, v in sample().items() if k != "media_count"}, False),
        (sample(observed_at="2026-11-28T17:00:00"), False),
        (sample(observed_at=1764349200000), True),
        (sample(creator_id="c" * 257), False),
    ]
    checker = jsonschema.FormatChecker()
    for value, ok in cases:
        schema_ok = jsonschema.Draft202012Validator(schema, format_checker=checker).is_valid(
            value)
        try:
            decode_follower_sample(value["creator_id"].encode(), orjson.dumps(value), NOW)
            decoder_ok = True
        except Rejected:
            decoder_ok = False
        assert schema_ok == decoder_ok == ok, value


def test_comment_text_is_read_only_when_there_is_one():
    assert comment_text(b'{"kind": "comment", "text": "hi there"}') == "hi there"
    assert comment_text(b'{"kind": "comment", "text": null}') is None
    assert comment_text(b'{"kind": "comment", "text": ""}') is None
    assert comment_text(None) is None
