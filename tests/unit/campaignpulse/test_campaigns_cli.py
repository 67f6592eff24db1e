"""``campaigns load`` validates the whole YAML file before anything is published."""

from decimal import Decimal

import pytest

from campaignpulse import campaigns as cli
from campaignpulse.cli import main
from campaignpulse.streams.campaigns.definition import InvalidDefinition

GOOD = """
campaigns:
  - campaign_id: cmp-1
    brand: Acme
    name: Winter
    starts_at: 2026-11-27T00:00:00Z
    ends_at: "2026-11-29T00:00:00Z"
    currency: EUR
    creators:
      - {creator_id: cr-1, fee: 1200.50}
      - {creator_id: cr-2, fee: "300"}
    emv_rates: {like: "0.10"}
    disclosure: {required: true, tags: ["#ad", "#werbung"]}
"""


def test_a_valid_file_reads_with_yaml_timestamps_and_money(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(GOOD)
    [campaign] = cli.read_file(path)
    assert campaign.fees() == {"cr-1": Decimal("1200.5"), "cr-2": Decimal("300")}
    assert campaign.starts_at == 1_795_737_600_000


def test_every_bad_field_of_every_campaign_is_reported_and_nothing_published(
        tmp_path, monkeypatch, capsys):
    bad = GOOD.replace("currency: EUR", "currency: euro").replace("fee: \"300\"", "fee: -1")
    bad += bad.split("campaigns:\n")[1].replace("starts_at: 2026", "starts_at: soon 2026")
    path = tmp_path / "c.yaml"
    path.write_text(bad)
    with pytest.raises(InvalidDefinition) as info:
        cli.read_file(path)
    text = "\n".join(info.value.errors)
    assert "campaign #1 (cmp-1): currency" in text
    assert "campaign #1 (cmp-1): creators.1.fee" in text
    assert "campaign #2 (cmp-1): starts_at" in text
    published = []
    monkeypatch.setattr(cli, "publish", lambda settings, records: published.append(records))
    assert main(["campaigns", "load", str(path)]) == 2
    assert published == []
    assert "nothing published" in capsys.readouterr().err


def test_a_repeated_campaign_id_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + GOOD.split("campaigns:\n")[1])
    with pytest.raises(InvalidDefinition, match="appears twice"):
        cli.read_file(path)
