"""The simulator's inauthentic engagement: off by default, deterministic, and its truth."""

import itertools

from campaignpulse.producers.authenticity_events import Inauthenticity
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.streams.contract_authenticity import FOLLOWER_SAMPLES_TOPIC

START = 1_764_547_200_000


def events(n, **kwargs):
    sim = CampaignSimulator(seed=5, start_ms=START, creators=40, **kwargs)
    return sim, [e.to_json() for e in itertools.islice(sim.events(), n)]


def test_off_by_default_the_simulation_has_no_samples_and_its_one_comment_text():
    sim, lines = events(30_000)
    assert sim.inauthentic is None
    assert not any(FOLLOWER_SAMPLES_TOPIC in line for line in lines)
    comments = [line for line in lines if '"kind":"comment"' in line]
    assert comments and all('"text":"love this!"' in line for line in comments)


def test_the_same_seed_gives_the_same_injection_and_truth():
    a, first = events(40_000, inauthenticity=Inauthenticity())
    b, second = events(40_000, inauthenticity=Inauthenticity())
    assert first == second
    assert a.inauthentic and b.inauthentic
    assert a.inauthentic.truth == b.inauthentic.truth


def test_the_truth_names_what_was_injected():
    sim = CampaignSimulator(seed=5, start_ms=START, creators=40,
                            inauthenticity=Inauthenticity())
    lines = [e for _ in range(360 * 3) for e in sim.step()]
    truth = sim.inauthentic.truth
    samples = [e for e in lines if e.topic == FOLLOWER_SAMPLES_TOPIC]
    assert len(samples) == 40 * Inauthenticity().follower_sample
    assert set(truth.sampled) == {c.creator_id for c in sim.creators}
    for creator, (fakes, n) in truth.sampled.items():
        assert 0 <= fakes <= n and 0 < truth.fake_share[creator] < 1
    by_id = {e.value["event_id"]: e.value for e in lines
             if isinstance(e.value, dict) and "event_id" in e.value}
    assert set(truth.events) <= set(by_id)
    for event_id, what in truth.events.items():
        actor = by_id[event_id]["actor_id"]
        if what == "pod":
            assert actor in truth.ring_members()
        elif what == "superfan":
            assert actor in truth.superfans
        else:
            assert actor in truth.bots
    assert {"pod", "copy_paste", "burst", "like_bot", "superfan"} <= set(truth.events.values())
    # pod members engage early: within 8.5 minutes of the post's publication
    published = {e.value["media_id"]: e.value["published_at"] for e in lines
                 if e.topic == "ig.media"}
    pod_events = [by_id[i] for i, what in truth.events.items() if what == "pod"]
    assert all(published.get(v["media_id"]) for v in pod_events)
