"""Properties of the streaming anomaly detector: bounded, causal, constant state."""

import json
import math
import random
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignpulse.producers.simulator import poisson
from campaignpulse.streams.spikes.channels import Profile
from campaignpulse.streams.spikes.detector import STATE_LENGTH, AnomalyDetector, DetectorParams
from campaignpulse.streams.spikes.monitor import FOLLOWER_GROWTH

MINUTE = 60_000
HOUR = 60 * MINUTE

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
@settings(max_examples=200)
def test_scores_are_in_the_unit_interval(points: list[tuple[int, float]]) -> None:
    assert all(0.0 <= s <= 1.0 for s in run(points))


@given(series, series)
@settings(max_examples=100)
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


def scores_and_extremes(
    detector: AnomalyDetector, points: list[tuple[int, float]]
) -> list[tuple[float, bool]]:
    """Each score, and whether its value lay beyond the raw range seen so far by 5 %."""
    out = []
    lo = hi = points[0][1]
    for t, x in points:
        tol = 0.05 * (hi - lo)
        out.append((detector.update(t, x), x > hi + tol or x < lo - tol))
        lo, hi = min(lo, x), max(hi, x)
    return out


def test_a_spike_in_steady_noise_scores_high_and_the_noise_does_not() -> None:
    rng = random.Random(11)
    detector = AnomalyDetector()
    points = [(i * 5 * MINUTE, rng.gauss(100, 5)) for i in range(2000)]
    quiet = scores_and_extremes(detector, points)
    spike = detector.update(2000 * 5 * MINUTE, 200)
    # noise alerts only where it sets a new extreme by 5 % of its range (by design, as
    # HTM's spatial anomaly), which Gaussian noise does rarely
    assert all(s < detector.alert_level or extreme for s, extreme in quiet[500:])
    assert sum(s >= detector.alert_level for s, _ in quiet[500:]) <= 2
    assert spike >= detector.alert_level


def test_irregular_sampling_of_a_steady_series_is_not_an_anomaly() -> None:
    rng = random.Random(3)
    detector = AnomalyDetector()
    t = 0
    points = []
    for _ in range(3000):
        t += rng.choice([10_000, 60_000, 30 * MINUTE, 3 * 60 * MINUTE])
        points.append((t, rng.gauss(50, 2)))
    scored = scores_and_extremes(detector, points)
    assert all(s < detector.alert_level or extreme for s, extreme in scored[500:])


def test_a_repeat_is_damped_after_an_alert_but_a_bigger_anomaly_is_not() -> None:
    detector = AnomalyDetector(hold_intervals=10)
    rng = random.Random(5)
    for i in range(1000):
        detector.update(i * MINUTE, rng.gauss(10, 1))
    first = detector.update(1000 * MINUTE, 100)
    repeat = detector.update(1001 * MINUTE, 100)
    bigger = detector.update(1002 * MINUTE, 200)
    assert first == 1.0
    assert repeat < detector.alert_level  # the same incident, repeated
    assert bigger == 1.0  # news, even though an incident is open


def test_a_recurring_burst_is_not_new_unless_outliers_are_learned_clipped() -> None:
    def repeat(params: DetectorParams) -> float:
        detector = AnomalyDetector(hold_intervals=0.0, params=params)
        rng = random.Random(5)
        for i in range(1000):
            detector.update(i * MINUTE, rng.gauss(10, 1))
        assert detector.update(1000 * MINUTE, 100) == 1.0
        for i in range(1001, 1300):
            detector.update(i * MINUTE, rng.gauss(10, 1))
        return detector.update(1300 * MINUTE, 100)

    # by default the range learns raw values: the same burst again is no new extreme
    assert repeat(DetectorParams()) < 0.5
    # bought followers: every package is news
    assert repeat(FOLLOWER_GROWTH) == 1.0


def test_state_is_small_and_a_restored_detector_continues_exactly() -> None:
    rng = random.Random(8)
    points = [(i * 5 * MINUTE, rng.gauss(100, 5) + 30 * (i % 288 < 20)) for i in range(4000)]
    points[3000] = (points[3000][0], 400.0)
    original = AnomalyDetector(hold_intervals=50)
    for t, x in points[:2500]:
        original.update(t, x)
    saved = json.loads(json.dumps(original.state()))
    assert len(saved) == STATE_LENGTH <= 1024  # at most 8 KB as 8-byte floats
    restored = AnomalyDetector.from_state(saved, hold_intervals=50)
    assert restored.state() == original.state()
    for t, x in points[2500:]:
        assert restored.update(t, x) == original.update(t, x)


def test_state_size_is_constant_over_100k_points() -> None:
    rng = random.Random(9)
    detector = AnomalyDetector()
    lengths = set()
    for i in range(100_000):
        detector.update(i * 5 * MINUTE + rng.randrange(MINUTE), rng.gauss(100, 10))
        if i % 10_000 == 0:
            lengths.add((len(detector.state()), state_size(detector)))
    assert len(lengths) == 1
    assert lengths.pop()[0] == STATE_LENGTH


def test_a_trend_setting_new_highs_raises_no_alarm_once_the_slow_level_follows_it() -> None:
    def alarms(params: DetectorParams) -> list[int]:
        detector = AnomalyDetector(params=params)
        rng = random.Random(3)
        scores = [detector.update(i * 5 * MINUTE, 0.002 * i + rng.gauss(0, 1))
                  for i in range(6000)]
        return [i for i, s in enumerate(scores[1500:], 1500) if s >= detector.alert_level]

    assert alarms(replace(DetectorParams(), range_detrend=False))  # raw new highs do fire
    assert alarms(DetectorParams()) == []


def test_a_failure_setting_new_lows_is_one_incident_until_it_goes_twice_as_far() -> None:
    detector = AnomalyDetector()
    rng = random.Random(4)
    for i in range(2000):
        detector.update(i * 5 * MINUTE, rng.gauss(50, 1))
    falling = [detector.update((2000 + k) * 5 * MINUTE, 40 - 2 * k) for k in range(5)]
    assert falling[0] == 1.0
    assert max(falling[1:4]) < detector.alert_level  # new lows, the same failure
    assert falling[4] == 1.0  # twice as far below the old range as the first: news
    for k in range(30):
        detector.update((2010 + k) * 5 * MINUTE, rng.gauss(50, 1))
    assert detector.update(2050 * 5 * MINUTE, 30) == 1.0  # back in range, then a new drop


def test_one_burst_does_not_blind_an_hour_slot_to_the_next() -> None:
    def spread_after_burst(clip: float) -> float:
        profile = Profile(24)
        rng = random.Random(7)
        for _ in range(200):
            profile.add(3, rng.gauss(10, 2), 0.05, clip)
            profile.add(4, rng.gauss(10, 2), 0.05, clip)
        profile.add(3, 150.0, 0.05, clip)
        found = profile.deviation(3, 150.0, 3.0, 10.0)
        assert found is not None
        return found[1]

    assert spread_after_burst(math.inf) > 10  # learned in full, the burst hides the next
    assert spread_after_burst(3.0) < 3


def test_a_night_time_burst_in_a_count_with_a_daily_cycle_is_judged_on_an_even_spread() -> None:
    """Poisson counts: about 8 an hour at night, 400 by day. Twelve times the night's
    count is still far inside the day's range; on raw values the pooled spread of the
    busy hours hides it, after the square root it stands out."""
    def rate(hour: int) -> float:
        return 5 + 395 * (0.5 + 0.5 * math.cos(2 * math.pi * (hour % 24 - 14) / 24))

    def scores(params: DetectorParams, seed: int) -> tuple[float, float]:
        rng = random.Random(seed)
        detector = AnomalyDetector(params=params)
        calm = [detector.update(h * HOUR, poisson(rng, rate(h))) for h in range(42 * 24 + 2)]
        burst = [detector.update(h * HOUR, poisson(rng, 12 * rate(h)))
                 for h in range(42 * 24 + 2, 42 * 24 + 4)]  # 02:00 and 03:00
        return max(calm[14 * 24:]), max(burst)

    stabilised = [scores(DetectorParams(), seed) for seed in range(5)]
    raw = [scores(replace(DetectorParams(), stabilise=False), seed) for seed in range(5)]
    assert all(calm < 0.5 for calm, _ in stabilised)
    assert sum(burst >= 0.5 for _, burst in stabilised) >= 4
    assert sum(burst >= 0.5 for _, burst in raw) <= 1


def test_a_checkpoint_of_another_layout_is_refused_even_at_the_same_length() -> None:
    detector = AnomalyDetector()
    for i in range(100):
        detector.update(i * MINUTE, float(i % 7))
    saved = detector.state()
    AnomalyDetector.from_state(saved)
    saved[0] = 1.0  # the layout before values were judged after a square root
    with pytest.raises(ValueError, match="layout"):
        AnomalyDetector.from_state(saved)


def test_a_run_of_evidence_just_under_the_alert_level_is_one_event() -> None:
    def run_after_shift(params: DetectorParams) -> list[float]:
        rng = random.Random(11)
        detector = AnomalyDetector(params=params)
        for i in range(3000):
            detector.update(i * MINUTE, 100 + rng.gauss(0, 1))
        return [detector.update(i * MINUTE, 102 + rng.gauss(0, 1)) for i in range(3000, 3060)]

    held = run_after_shift(DetectorParams())
    unheld = run_after_shift(replace(DetectorParams(), hold_share=1.0))
    assert max(held) >= 0.3
    assert sum(s >= 0.3 for s in held) <= 5
    assert sum(s >= 0.3 for s in unheld) >= 15
