"""Seeded demo data in chdb: simulator events (campaigns and contests included) through the
real pipeline and sink, as the worker writes them; no bench filler involved."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from campaignpulse.dashboards import campaign, render
from campaignpulse.dashboards.macros import Choice, all_values, expand
from campaignpulse.dashboards.panels import SqlPanel
from campaignpulse.producers.simulator import CampaignSimulator, Envelope, Incidents
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC
from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord

HOUR_S = 3600
BOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards"
#: "All", as the committed board's variables define it
EVERYTHING: dict[str, Choice] = all_values(json.loads((BOARD / "campaigns.json").read_text()))


@dataclass
class Seeded:
    warehouse: EmbeddedWarehouse
    envelopes: list[Envelope]
    #: whole hours covering the data, in epoch seconds
    from_s: int
    to_s: int
    alerts: int

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [e.value for e in self.envelopes if e.topic == topic and isinstance(e.value, dict)]

    def lines(self) -> list[str]:
        return [json.dumps({"topic": e.topic, "value": e.value}) for e in self.envelopes
                if isinstance(e.value, dict)]


def _record(envelope: Envelope, offsets: dict[tuple[str, int], int]) -> RawRecord:
    assert isinstance(envelope.value, dict)
    key = envelope.value["campaign_id" if envelope.topic == CAMPAIGNS_TOPIC
                         else "creator_id"].encode()
    partition = zlib.crc32(key) % 4
    offset = offsets.get((envelope.topic, partition), 0)
    offsets[(envelope.topic, partition)] = offset + 1
    return RawRecord(envelope.topic, partition, offset, key, orjson.dumps(envelope.value))


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    import time

    now_s = int(time.time()) // HOUR_S * HOUR_S
    start_ms = (now_s - 5 * HOUR_S) * 1000
    simulator = CampaignSimulator(seed=3, start_ms=start_ms, creators=40,
                                  incidents=Incidents(bought_per_day=6.0, viral_per_day=3.0),
                                  campaign_activity=True)
    pipeline = EngagementPipeline(allowed_lateness_ms=600_000)
    pending = PendingWrites.empty()
    offsets: dict[tuple[str, int], int] = {}
    assert simulator.activity is not None
    envelopes = simulator.activity.definitions()
    definitions = []
    for envelope in envelopes:
        record = _record(envelope, offsets)
        if envelope.topic == CAMPAIGNS_TOPIC:  # the definitions feed's part of the worker
            campaign_id, definition = pipeline.campaigns.define_campaign(record.key, record.value)
            pending.campaigns.definitions.append(
                CampaignDefinitionRow(campaign_id, definition, record.offset))
        else:
            definitions.append(record)
    pipeline.process(definitions, int(time.time() * 1000))
    end_ms = start_ms + 4 * HOUR_S * 1000
    while simulator.now_ms < end_ms:
        batch = []
        for _ in range(30):
            batch.extend(simulator.step())
        envelopes.extend(batch)
        result = pipeline.process([_record(e, offsets) for e in batch], int(time.time() * 1000))
        # the giveaway's likes can be older than the allowed lateness: late, as recounted
        assert {str(d.reason) for d in result.dead_letters} <= {"late"}, result.dead_letters[:3]
        pending.add_engagement(result.engagement)
        pending.media.extend(result.media)
        pending.snapshots.extend(result.snapshots)
        pending.alerts.extend(result.alerts)
        pending.campaigns.add(result.campaign_kpis, result.contest_performance,
                              result.contest_minutes, result.disclosure_alerts)
    pending.alerts.extend(pipeline.judge_snapshots(int(time.time() * 1000), everything=True))
    warehouse = EmbeddedWarehouse(str(tmp_path_factory.mktemp("seeded") / "wh"))
    migrate(warehouse)
    assert not WarehouseSink(warehouse).write(pending)
    yield Seeded(warehouse, envelopes, start_ms // 1000, end_ms // 1000, len(pending.alerts))
    warehouse.close()


def panel(title_start: str) -> SqlPanel:
    return next(p for p in campaign.all_panels() if p.title.startswith(title_start))


def run_panel(seeded: Seeded, spec: SqlPanel, from_s: int, to_s: int,
              interval_s: int = HOUR_S, **chosen: list[str]) -> list[dict[str, Any]]:
    """The panel as Grafana sends it: "All" for every variable not ``chosen``."""
    sql = expand(spec.sql, from_s, to_s, interval_s, {**EVERYTHING, **chosen})
    return seeded.warehouse.query(sql)


def committed_board() -> dict[str, Any]:
    return render(campaign.build)
