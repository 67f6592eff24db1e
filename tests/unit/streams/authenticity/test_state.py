"""The stage's state through msgpack and back: a restored stage decides as if it had
never stopped; garbage is refused."""

import msgspec
import orjson
import pytest

from campaignpulse.producers.authenticity_events import Inauthenticity
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.streams.authenticity.stage import AuthenticityStage
from campaignpulse.streams.authenticity.state import decode, encode, restore_state
from campaignpulse.streams.contract import INTERACTIONS_TOPIC, MEDIA_TOPIC
from campaignpulse.streams.contract import decode as decode_event
from campaignpulse.streams.contract_authenticity import (
    FOLLOWER_SAMPLES_TOPIC,
    comment_text,
    decode_follower_sample,
)


def batches(seed: int, hours: int):
    sim = CampaignSimulator(seed=seed, start_ms=1_764_547_200_000, creators=30,
                            inauthenticity=Inauthenticity(superfans=60))
    now = 1_764_547_200_000 + hours * 3_600_000 + 1
    out = []
    for _ in range(hours * 36):  # 10 steps of 10 s per batch
        interactions, media, samples = [], [], []
        for _ in range(10):
            for e in sim.step():
                key, raw = e.value["creator_id"].encode(), orjson.dumps(e.value)
                if e.topic == INTERACTIONS_TOPIC:
                    event = decode_event(e.topic, key, raw, now)
                    interactions.append((event, comment_text(raw) if event.kind == 1 else None))
                elif e.topic == MEDIA_TOPIC:
                    media.append(decode_event(e.topic, key, raw, now))
                elif e.topic == FOLLOWER_SAMPLES_TOPIC:
                    samples.append(decode_follower_sample(key, raw, now))
        out.append((interactions, media, samples))
    return out


def summary(outputs):
    return ([(r.bucket_start_ms, r.creator_id, r.media_id, r.raw, r.authentic, r.excluded)
             for o in outputs for r in o.rows],
            [r for o in outputs for r in o.rings], [b for o in outputs for b in o.bots],
            [c for o in outputs for c in o.clusters], [a for o in outputs for a in o.alerts])


def test_a_restored_stage_gives_the_rows_of_an_uninterrupted_one():
    work = batches(seed=41, hours=10)
    whole = AuthenticityStage(600_000)
    expected = [whole.process(*b) for b in work] + [whole.flush()]

    first = AuthenticityStage(600_000)
    outputs = [first.process(*b) for b in work[:200]]
    raw = encode(first)
    second = AuthenticityStage(600_000)
    restore_state(second, decode(raw))
    outputs += [second.process(*b) for b in work[200:]] + [second.flush()]
    assert summary(outputs) == summary(expected)
    assert summary(expected)[1] and summary(expected)[2]  # rings and bots were found
    restored, uninterrupted = second.state_size(), whole.state_size()
    del restored["cached_texts"], uninterrupted["cached_texts"]  # the cache refills itself
    assert restored == uninterrupted


def test_state_that_is_not_ours_is_refused():
    with pytest.raises(msgspec.ValidationError):
        decode(msgspec.msgpack.encode({"newest_ms": "x"}))
    with pytest.raises(msgspec.DecodeError):
        decode(b"\xc1 not msgpack")
