"""The authenticity stage inside the pipeline, kept in the one change-logging store: a
worker restored from the (compacted) changelog mid-stream and fed from the positions it
restored decides every row, ring, bot, cluster and alert as an uninterrupted one; a
revoked partition's state leaves the stage."""

from __future__ import annotations

import zlib

import orjson
import pytest

from campaignpulse.producers.authenticity_events import Inauthenticity
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC
from campaignpulse.streams.pipeline import BatchResult, EngagementPipeline, RawRecord

START_MS = 1_764_547_200_000
LATENESS_MS = 1_800_000
PARTITIONS = 3


def stream(seed: int, hours: int) -> tuple[list[tuple[bytes, bytes]], list[RawRecord]]:
    sim = CampaignSimulator(seed=seed, start_ms=START_MS, creators=24, campaign_activity=True,
                            inauthenticity=Inauthenticity())
    envelopes = list(sim.activity.definitions()) if sim.activity else []
    for _ in range(hours * 360):
        envelopes.extend(sim.step())
    clock = sim.now_ms + 1
    campaigns, records, offsets = [], [], {}
    for e in envelopes:
        if not isinstance(e.value, dict):
            continue
        if e.topic == CAMPAIGNS_TOPIC:
            campaigns.append((e.value["campaign_id"].encode(), orjson.dumps(e.value)))
            continue
        key = e.value["creator_id"].encode()
        partition = zlib.crc32(key) % PARTITIONS
        offset = offsets[(e.topic, partition)] = offsets.get((e.topic, partition), -1) + 1
        records.append(RawRecord(e.topic, partition, offset, key, orjson.dumps(e.value),
                                 timestamp_ms=clock))
    return campaigns, records


def fresh(campaigns: list[tuple[bytes, bytes]]) -> EngagementPipeline:
    pipeline = EngagementPipeline(LATENESS_MS)
    for key, value in campaigns:
        pipeline.define_campaign(key, value)
    return pipeline


def step(pipeline: EngagementPipeline, batch: list[RawRecord],
         records: list[RawRecord]) -> BatchResult:
    """One batch, told first which partitions it leaves read to their end, as an engine
    tells it (``worker/records.py::read_to_end``)."""
    ends: dict[tuple[str, int], int] = {}
    for r in records:
        ends[(r.topic, r.partition)] = r.offset + 1
    read = dict(pipeline.positions)
    read.update({(r.topic, r.partition): r.offset + 1 for r in batch})
    pipeline.inputs_at_end(tp for tp, end in ends.items() if read.get(tp, 0) >= end)
    return pipeline.process(batch, 0)


def decided(results: list[BatchResult]) -> tuple[list, ...]:
    outs = [r.authenticity for r in results]
    return ([(r.bucket_start_ms, r.creator_id, r.media_id, r.campaign_id, r.raw, r.authentic,
              r.excluded) for o in outs for r in o.rows],
            [r for o in outs for r in o.rings], [b for o in outs for b in o.bots],
            [c for o in outs for c in o.clusters], [a for o in outs for a in o.audience],
            [a for o in outs for a in o.alerts])


def compacted(log: list[tuple[int, bytes, bytes | None]]) -> dict[int, list]:
    last = {(p, k): i for i, (p, k, _) in enumerate(log)}
    out: dict[int, list] = {}
    for i, (p, k, v) in enumerate(log):
        if last[(p, k)] == i:
            out.setdefault(p, []).append((k, v))
    return out


@pytest.fixture(scope="module")
def simulated():
    return stream(seed=57, hours=8)


def test_a_restored_worker_decides_as_an_uninterrupted_one(simulated):
    campaigns, records = simulated
    size = 1500
    batches = [records[i:i + size] for i in range(0, len(records), size)]
    whole = fresh(campaigns)
    expected = decided([step(whole, b, records) for b in batches])
    assert expected[0] and expected[1] and expected[2] and expected[3] and expected[5]

    crash = len(batches) * 3 // 5
    first = fresh(campaigns)
    log: list[tuple[int, bytes, bytes | None]] = []
    results = []
    for i, batch in enumerate(batches[:crash]):
        results.append(step(first, batch, records))
        if i % 7 == 0 or i == crash - 1:
            log.extend(first.checkpoint(0))
    second = fresh(campaigns)
    positions: dict[tuple[str, int], int] = {}
    for partition, changes in sorted(compacted(log).items()):
        positions.update(second.restore(partition, changes).positions)
    rest = [r for r in records if r.offset >= positions.get((r.topic, r.partition), 0)]
    assert len(rest) == sum(len(b) for b in batches[crash:])
    results += [step(second, rest[i:i + size], records) for i in range(0, len(rest), size)]
    assert decided(results) == expected
    sizes = second.authenticity.stage.state_size()
    uninterrupted = whole.authenticity.stage.state_size()
    del sizes["cached_texts"], uninterrupted["cached_texts"]
    assert sizes == uninterrupted


def test_a_revoked_partition_leaves_the_stage_and_a_checkpoint_writes_only_changes(simulated):
    campaigns, records = simulated
    pipeline = fresh(campaigns)
    for i in range(0, len(records) // 2, 2000):
        step(pipeline, records[i:i + 2000], records)
    everything = pipeline.checkpoint(0)
    assert len(pipeline.checkpoint(0)) == 0  # nothing changed since
    assert len(everything) > 0
    stage = pipeline.authenticity.stage
    gone = {p for c, p in pipeline.authenticity.partitions.items() if p == 1}
    creators = {c for c, p in pipeline.authenticity.partitions.items() if p in gone}
    assert creators and any(t.creator_id in creators for ts in stage.open.values() for t in ts)
    pipeline.revoke(gone)
    stage = pipeline.authenticity.stage
    assert not any(t.creator_id in creators for ts in stage.open.values() for t in ts)
    assert not set(stage.audience.creators) & creators
    assert not {k[1] for k in stage.watch.totals} & creators
