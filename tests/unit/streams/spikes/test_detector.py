"""Properties of the streaming anomaly detector: bounded, causal, constant state."""

import random
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from campaignpulse.streams.spikes.detector import AnomalyDetector

MINUTE = 60_000

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
series = st.lists(st.tuples(st.integers(0, 10 * 24 * 60), finite), min_size=1, max_size=300)


def run(points: list[tuple[int, float]]) -> list[float]:
    detector = AnomalyDetector()
    t = 0
    out = []
    for gap, value in points:
        t += gap * MINUTE
        out.append(detector.update(t, value))
    return out


@given(series)
@settings(max_examples=200, deadline=None)
def test_scores_are_in_the_unit_interval(points: list[tuple[int, float]]) -> None:
    assert all(0.0 <= s <= 1.0 for s in run(points))


@given(series, series)
@settings(max_examples=100, deadline=None)
def test_no_look_ahead(past: list[tuple[int, float]], future: list[tuple[int, float]]) -> None:
    # what comes later cannot change a score already given
    assert run(past + future)[: len(past)] == run(past)


def state_size(detector: AnomalyDetector) -> int:
    def size(obj: object) -> int:
        if isinstance(obj, list | tuple):
            return sys.getsizeof(obj) + sum(size(x) for x in obj)
        if hasattr(obj, "__slots__"):
            return sum(size(getattr(obj, name)) for name in obj.__slots__)
        return sys.getsizeof(obj) if not isinstance(obj, int | float) else 8

    return size(detector)


def test_state_does_not_grow_with_the_series() -> None:
    rng = random.Random(7)
    detector = AnomalyDetector()
    sizes = []
    for i in range(20_000):
        detector.update(i * 5 * MINUTE + rng.randrange(MINUTE), rng.gauss(100, 10))
        if i in (100, 19_999):
            sizes.append(state_size(detector))
    assert not hasattr(detector, "__dict__")
    assert sizes[0] == sizes[1]


def test_a_spike_in_steady_noise_scores_high_and_the_noise_does_not() -> None:
    rng = random.Random(11)
    detector = AnomalyDetector()
    quiet = [detector.update(i * 5 * MINUTE, rng.gauss(100, 5)) for i in range(2000)]
    spike = detector.update(2000 * 5 * MINUTE, 200)
    assert max(quiet[500:]) < detector.alert_level
    assert spike >= detector.alert_level


def test_irregular_sampling_of_a_steady_series_is_not_an_anomaly() -> None:
    rng = random.Random(3)
    detector = AnomalyDetector()
    t = 0
    scores = []
    for _ in range(3000):
        t += rng.choice([10_000, 60_000, 30 * MINUTE, 3 * 60 * MINUTE])
        scores.append(detector.update(t, rng.gauss(50, 2)))
    assert max(scores[500:]) < detector.alert_level


def test_repeated_evidence_is_held_after_an_alert() -> None:
    detector = AnomalyDetector(hold_intervals=10)
    rng = random.Random(5)
    for i in range(1000):
        detector.update(i * MINUTE, rng.gauss(10, 1))
    first = detector.update(1000 * MINUTE, 100)
    again = detector.update(1001 * MINUTE, 200)
    assert first == 1.0
    assert again == 0.5  # a new extreme, but the incident is already open
