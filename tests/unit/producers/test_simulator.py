import itertools
import json
from pathlib import Path

import pytest

from campaignpulse.producers.calibrate import fit
from campaignpulse.producers.jsonl import parse_lines
from campaignpulse.producers.simulator import CampaignSimulator, Faults, load_calibration
from campaignpulse.streams.contract import INPUT_TOPICS, decode
from campaignpulse.streams.timestamps import parse_timestamp_ms

START = parse_timestamp_ms("2026-11-27T00:00:00Z")
DATASET = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets" / "instagram"


def take(seed: int, n: int, **kwargs) -> list[str]:
    sim = CampaignSimulator(seed=seed, start_ms=START, creators=30, **kwargs)
    return [e.to_json() for e in itertools.islice(sim.events(), n)]


def test_same_seed_same_events_other_seed_other_events():
    assert take(1, 3000) == take(1, 3000)
    assert take(1, 3000) != take(2, 3000)


def test_every_clean_event_honours_the_contract():
    lines = take(4, 5000)
    for item in parse_lines(line.encode() for line in lines):
        assert item.problem is None and item.topic in INPUT_TOPICS
        decode(item.topic, item.key, item.value, clock_ms=START + 10 * 86_400_000)


def test_faults_are_injected_at_about_their_rate():
    lines = take(5, 20_000, faults=Faults(duplicate=0.05))
    ids = [json.loads(x)["value"].get("event_id") for x in lines]
    ids = [i for i in ids if i]
    assert 0.03 < 1 - len(set(ids)) / len(ids) < 0.07


@pytest.mark.skipif(not DATASET.is_dir(), reason="shared datasets not present")
def test_shipped_calibration_is_what_the_dataset_gives():
    assert fit(DATASET) == load_calibration()
