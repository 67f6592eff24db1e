"""ig.campaigns / ig.contests decoding agrees with their JSON Schemas; keys are checked."""

import json
from importlib.resources import files

import jsonschema
import orjson
import pytest

from campaignpulse.streams.contract import Reason, Rejected
from campaignpulse.streams.contract_campaigns import (
    comment_features,
    decode_campaign,
    decode_contest,
)
from campaignpulse.streams.disclosure import DisclosureAlert

CAMPAIGN = {
    "campaign_id": "cmp-1", "brand": "Acme", "name": "Winter", "currency": "EUR",
    "starts_at": "2026-11-27T00:00:00Z", "ends_at": 1_795_824_000_000,
    "creators": [{"creator_id": "cr-1", "fee": "1200.50"}, {"creator_id": "cr-2", "fee": 300}],
    "emv_rates": {"like": "0.1", "story_view": 0.02},
    "disclosure": {"required": True, "tags": ["#ad", "Werbung"]},
}
CONTEST = {
    "contest_id": "ct-1", "creator_id": "cr-1", "media_id": "m1", "campaign_id": None,
    "starts_at": "2026-11-27T10:00:00Z", "ends_at": "2026-11-28T10:00:00Z",
    "prize_value": "250.00",
    "rules": {"min_mentions": 2, "required_hashtags": ["giveaway"],
              "one_entry_per_account": True, "must_like": True},
}


def schema(name):
    return json.loads(files("campaignpulse.streams").joinpath(f"schemas/{name}.json").read_text())


def valid(name, value):
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return jsonschema.Draft202012Validator(schema(name), format_checker=checker).is_valid(value)


@pytest.mark.parametrize("change", [
    {}, {"emv_rates": {}}, {"disclosure": {"required": False}},
    {"currency": "eur"}, {"creators": []}, {"creators": [{"creator_id": "x", "fee": -1}]},
    {"emv_rates": {"poke": "1"}}, {"starts_at": "2026-11-27T00:00:00"}, {"colour": "red"},
    {"campaign_id": ""},
])
def test_campaign_schema_and_decoder_agree(change):
    value = {**CAMPAIGN, **change}
    try:
        decode_campaign(b"cmp-1" if value["campaign_id"] else b"", orjson.dumps(value))
        decoded = True
    except Rejected as rejected:
        assert rejected.reason in (Reason.SCHEMA, Reason.KEY_MISMATCH)
        decoded = False
    assert valid("ig.campaigns", value) is decoded


@pytest.mark.parametrize("change", [
    {}, {"rules": {}}, {"campaign_id": "cmp-1"}, {"prize_value": 99.5},
    {"prize_value": "-1"}, {"rules": {"min_mentions": -1}}, {"media_id": ""},
    {"rules": {"required_hashtags": ["two words"]}}, {"starts_at": "soon"},
])
def test_contest_schema_and_decoder_agree(change):
    value = {**CONTEST, **change}
    try:
        decode_contest(b"cr-1", orjson.dumps(value))
        decoded = True
    except Rejected:
        decoded = False
    assert valid("ig.contests", value) is decoded


def test_keys_null_values_and_deletions():
    assert decode_campaign(b"cmp-1", None) == ("cmp-1", None)
    with pytest.raises(Rejected) as info:
        decode_campaign(b"other", orjson.dumps(CAMPAIGN))
    assert info.value.reason is Reason.KEY_MISMATCH
    with pytest.raises(Rejected) as info:
        decode_contest(b"cr-2", orjson.dumps(CONTEST))
    assert info.value.reason is Reason.KEY_MISMATCH
    with pytest.raises(Rejected) as info:
        decode_contest(b"cr-1", b"{broken")
    assert info.value.reason is Reason.MALFORMED_JSON


def test_only_text_features_leave_the_comment():
    f = comment_features(orjson.dumps({"text": "Win! @Ann #GiveAway", "kind": "comment"}))
    assert (f.mentions, f.hashtags) == ({"ann"}, {"giveaway"}) and f.fingerprint
    assert comment_features(orjson.dumps({"text": None})).fingerprint == 0


def test_disclosure_alerts_and_spike_alerts_share_the_alerts_schema():
    alert = DisclosureAlert("disclosure-m1", "cmp-1", "cr-1", "m1", "firing", "below_fold",
                            "warning", 1_795_737_600_000, 2)
    body = json.loads(alert.to_json())
    assert valid("campaignpulse.alerts", body)
    assert not valid("campaignpulse.alerts", {**body, "reason": "other"})
    assert not valid("campaignpulse.alerts", {**body, "campaign_ids": []})


@pytest.mark.parametrize(("value", "reason"), [
    (b"{not json", Reason.MALFORMED_JSON),
    (b"[1, 2]", Reason.SCHEMA),
    # valid JSON nested past orjson's 1024 levels: a schema fault, as on the event topics
    (b'{"rules":' + b"[" * 1100 + b"]" * 1100 + b"}", Reason.SCHEMA),
])
def test_definitions_that_are_not_json_objects(value, reason):
    for decoder in (lambda v: decode_campaign(b"cmp-1", v), lambda v: decode_contest(b"cr-1", v)):
        with pytest.raises(Rejected) as info:
            decoder(value)
        assert info.value.reason is reason
