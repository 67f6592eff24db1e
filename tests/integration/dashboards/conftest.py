"""Seeded demo data in chdb: simulator events through the real pipeline and sink."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest

from campaignpulse.producers.simulator import CampaignSimulator, Envelope, Incidents
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord

HOUR_S = 3600


@dataclass
class Seeded:
    warehouse: EmbeddedWarehouse
    envelopes: list[Envelope]
    #: whole hours covering the data, in epoch seconds
    from_s: int
    to_s: int
    alerts: int


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    import time

    now_s = int(time.time()) // HOUR_S * HOUR_S
    start_ms = (now_s - 5 * HOUR_S) * 1000
    simulator = CampaignSimulator(seed=3, start_ms=start_ms, creators=40,
                                  incidents=Incidents(bought_per_day=6.0, viral_per_day=3.0))
    envelopes: list[Envelope] = []
    pipeline = EngagementPipeline(allowed_lateness_ms=600_000)
    pending = PendingWrites.empty()
    offsets: dict[tuple[str, int], int] = {}
    end_ms = start_ms + 4 * HOUR_S * 1000
    while simulator.now_ms < end_ms:
        batch = []
        for _ in range(30):
            batch.extend(simulator.step())
        envelopes.extend(batch)
        records = []
        for envelope in batch:
            assert isinstance(envelope.value, dict)
            creator = envelope.value["creator_id"].encode()
            partition = zlib.crc32(creator) % 4
            offset = offsets.get((envelope.topic, partition), 0)
            offsets[(envelope.topic, partition)] = offset + 1
            records.append(RawRecord(envelope.topic, partition, offset, creator,
                                     orjson.dumps(envelope.value)))
        result = pipeline.process(records, int(time.time() * 1000))
        assert not result.dead_letters, result.dead_letters[:3]
        pending.add_engagement(result.engagement)
        pending.media.extend(result.media)
        pending.snapshots.extend(result.snapshots)
        pending.alerts.extend(result.alerts)
    pending.alerts.extend(pipeline.judge_snapshots(int(time.time() * 1000), everything=True))
    warehouse = EmbeddedWarehouse(str(tmp_path_factory.mktemp("seeded") / "wh"))
    migrate(warehouse)
    WarehouseSink(warehouse).write(pending)
    yield Seeded(warehouse, envelopes, start_ms // 1000, end_ms // 1000, len(pending.alerts))
    warehouse.close()


