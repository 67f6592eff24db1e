"""Records are stamped with their event time, read cheaply from the value."""

import orjson

from campaignpulse.producers.publisher import event_time_ms

T = 1_764_352_800_000


def test_event_time_of_each_topic_in_either_timestamp_form():
    assert event_time_ms("ig.interactions", orjson.dumps({"occurred_at": T})) == T
    assert event_time_ms("ig.media", orjson.dumps(
        {"published_at": "2025-11-28T18:00:00.000Z"})) == T
    assert event_time_ms("ig.followers", orjson.dumps(
        {"observed_at": "2025-11-28T19:00:00+01:00"})) == T


def test_values_without_a_usable_time_are_sent_unstamped():
    for value in (b"not json", b"[1, 2]", orjson.dumps({"occurred_at": "yesterday"}),
                  orjson.dumps({"occurred_at": -5}), orjson.dumps({"other": T})):
        assert event_time_ms("ig.interactions", value) is None
    assert event_time_ms("campaignpulse.dlq", orjson.dumps({"occurred_at": T})) is None
