"""`produce simulate --start now`: a stack left running for a day keeps producing fresh
events that the worker accepts. A day of pacing on an injected clock, no sleeping."""

from __future__ import annotations

import zlib
from collections import Counter

import orjson

from campaignpulse.producers.simulator import (
    DAY_MS,
    CampaignSimulator,
    Envelope,
    Incidents,
    paced,
)
from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord
from tests.recount import to_ms

START_S = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now_s = START_S
        self.slept_s = 0.0

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now_s += seconds
        self.slept_s += seconds


def event_ms(envelope: Envelope) -> int:
    assert isinstance(envelope.value, dict)
    v = envelope.value
    return to_ms(v.get("occurred_at") or v.get("observed_at") or v["published_at"])


def test_a_day_of_paced_simulation_stays_fresh_and_is_never_dead_lettered() -> None:
    clock = Clock()
    simulator = CampaignSimulator(seed=1, start_ms=int(START_S * 1000), creators=8,
                                  incidents=Incidents(bought_per_day=1.0, viral_per_day=1.0))
    pipeline = EngagementPipeline(allowed_lateness_ms=600_000)
    accepted: Counter[str] = Counter()
    newest_ms = 0
    batch: list[RawRecord] = []
    offset = 0
    for envelope in paced(simulator, clock, clock.sleep):
        now_ms = int(clock() * 1000)
        at = event_ms(envelope)
        assert at <= now_ms, "an event ahead of the clock"
        assert now_ms - at <= simulator.step_ms, "an event staler than one step"
        newest_ms = max(newest_ms, at)
        assert isinstance(envelope.value, dict)
        key = envelope.value["creator_id"].encode()
        offset += 1
        batch.append(RawRecord(envelope.topic, zlib.crc32(key) % 4, offset, key,
                               orjson.dumps(envelope.value)))
        if len(batch) >= 2000:
            result = pipeline.process(batch, now_ms)  # the worker's checks, at that moment
            assert not result.dead_letters, result.dead_letters[0]
            accepted.update(t for t, _ in result.accepted.elements())
            batch = []
        if clock() - START_S >= DAY_MS / 1000:
            break
    assert clock.slept_s >= DAY_MS / 1000 - 20  # it waited for the clock, not ran ahead
    assert newest_ms >= (START_S * 1000) + DAY_MS - 20_000  # still producing at the end
    assert accepted["ig.interactions"] > 10_000 and accepted["ig.followers"] > 1_000

