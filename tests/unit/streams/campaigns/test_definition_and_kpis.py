"""Campaign definitions (one error per bad field) and KPI formulas, hand-computed."""

from decimal import Decimal

import pytest

from campaignpulse.streams.campaigns.definition import (
    InvalidDefinition,
    default_emv_rates,
    parse_campaign,
)
from campaignpulse.streams.campaigns.kpis import (
    cost_per_engagement,
    cpm_by_reach,
    emv,
    hour_cost,
    roi,
)
from campaignpulse.streams.timestamps import parse_timestamp_ms

D = Decimal
START = "2026-11-27T00:00:00Z"


def definition(**overrides):
    value = {
        "campaign_id": "cmp-1", "brand": "Acme", "name": "Winter", "starts_at": START,
        "ends_at": "2026-11-27T10:00:00Z", "currency": "EUR",
        "creators": [{"creator_id": "cr-1", "fee": "1000"}, {"creator_id": "cr-2", "fee": 250.5}],
        "emv_rates": {"like": "0.10", "comment": "1"},
        "disclosure": {"required": True, "tags": ["#Ad", "anzeige"]},
    }
    value.update(overrides)
    return value


def test_a_valid_definition_parses_with_defaults_filled_in():
    c = parse_campaign(definition())
    assert c.starts_at == parse_timestamp_ms(START)
    assert c.fees() == {"cr-1": D("1000"), "cr-2": D("250.5")}
    rates = c.rates()
    assert rates["like"] == D("0.10") and rates["comment"] == D("1")
    assert rates["save"] == default_emv_rates()["save"]
    assert c.disclosure.tags == ("ad", "anzeige")
    assert c.covers(c.starts_at) and not c.covers(c.ends_at)
    assert parse_campaign(__import__("json").loads(c.to_json())) == c


def test_every_bad_field_is_named():
    bad = definition(
        campaign_id="", starts_at="yesterday", currency="euro",
        creators=[{"creator_id": "cr-1", "fee": "-1"}, {"creator_id": "cr-2"}],
        emv_rates={"poke": 1}, disclosure={"tags": ["#ad hoc"]}, colour="red",
    )
    with pytest.raises(InvalidDefinition) as info:
        parse_campaign(bad)
    fields = {line.split(":")[0] for line in info.value.errors}
    assert {"campaign_id", "starts_at", "currency", "creators.0.fee", "creators.1.fee",
            "emv_rates", "disclosure.tags", "colour"} <= fields


def test_end_before_start_and_repeated_creators_are_refused():
    with pytest.raises(InvalidDefinition, match="ends_at must be after starts_at"):
        parse_campaign(definition(ends_at=START))
    with pytest.raises(InvalidDefinition, match="listed twice"):
        parse_campaign(definition(creators=[{"creator_id": "a", "fee": 1}] * 2))


def test_emv_is_counts_times_rates_to_the_cent():
    rates = {"like": D("0.08"), "comment": D("0.50"), "story_view": D("0.015")}
    # 123 × 0.08 = 9.84; 7 × 0.50 = 3.50; 3 × 0.015 = 0.045 → 13.385 → 13.39 (half up)
    assert emv({"like": 123, "comment": 7, "story_view": 3}, rates) == D("13.39")
    assert emv({}, rates) == D("0.00")


def test_hourly_cost_is_the_fee_pro_rated_over_the_campaign():
    h = 3_600_000
    # a 10-hour campaign of 1000.00: 100.00 per full hour
    assert hour_cost(D("1000"), 0, 10 * h, 3 * h) == D("100.00")
    # starts at 0:30 → the first hour covers 30 of 570 minutes: 1000 × 30/570 = 52.63
    assert hour_cost(D("1000"), h // 2, 10 * h, 0) == D("52.63")
    assert hour_cost(D("1000"), 0, 10 * h, 10 * h) == D("0.00")


def test_cpe_cpm_roi():
    assert cost_per_engagement(D("1000.00"), 300) == D("3.33")
    assert cost_per_engagement(D("1000.00"), 0) is None
    assert cpm_by_reach(D("250.50"), 12_000) == D("20.88")  # 250.50 × 1000 / 12000 = 20.875
    assert cpm_by_reach(D("1"), 0) is None
    assert roi(D("13.39"), D("10.00")) == D("1.3390")
    assert roi(D("1.00"), D("3.00")) == D("0.3333")
    assert roi(D("2.00"), D("0")) is None
