"""Campaign definition rows: money rounded once, where a figure is reported."""

from decimal import Decimal

from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow, definition_tuple
from campaignpulse.streams.campaigns.definition import parse_campaign
from campaignpulse.streams.campaigns.kpis import cost_per_engagement


def test_a_campaigns_cost_to_date_is_its_fees_summed_then_rounded() -> None:
    thirds = parse_campaign({
        "campaign_id": "thirds", "brand": "B", "name": "N", "currency": "EUR",
        "starts_at": 0, "ends_at": 3_600_000,
        "creators": [{"creator_id": "a", "fee": "333.333333"},
                     {"creator_id": "b", "fee": "333.333333"},
                     {"creator_id": "c", "fee": "333.333334"}],
    })
    row = definition_tuple(CampaignDefinitionRow("thirds", thirds, 0))
    assert row[7] == 100_000  # total_fee_cents: 1000.00, not 3 x 333.33 = 999.99
    assert thirds.total_fee() == Decimal("1000.000000")
    assert cost_per_engagement(Decimal(row[7]) / 100, 3) == Decimal("333.33")
