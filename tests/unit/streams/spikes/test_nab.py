"""The NAB scorer against cases worked out by hand from NAB's definitions."""

import math

import pytest

from campaignpulse.streams.spikes import nab

STANDARD = nab.PROFILES["standard"]
TS = [f"t{i:02d}" for i in range(20)]  # 20 rows: probation is floor(0.15 * 20) = 3 rows
WINDOW = [("t10", "t14")]  # rows 10..14, width 5


def scores(**hits: float) -> list[float]:
    out = [0.0] * 20
    for name, value in hits.items():
        out[int(name[1:])] = value
    return out


def evaluate(s: list[float], profile: nab.CostProfile = STANDARD) -> nab.SweepResult:
    return nab.best_threshold(nab.sweep_rows("f", TS, s, WINDOW, profile), profile)


def test_scaled_sigmoid_matches_the_definition() -> None:
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(3.0) == -1.0
    assert nab.scaled_sigmoid(0.5) == pytest.approx(-0.848284, abs=1e-6)


def test_probation_is_fifteen_percent_capped_at_750() -> None:
    assert nab.probation_length(20) == 3
    assert nab.probation_length(4032) == 604
    assert nab.probation_length(100_000) == 750


def test_detection_at_the_window_start_is_perfect() -> None:
    result = evaluate(scores(s10=1.0))
    assert result.raw == pytest.approx(1.0)
    assert result.normalised == pytest.approx(100.0)


def test_detection_at_the_right_edge_is_worth_less() -> None:
    # position -(14 - 14 + 1) / 5 = -0.2; sigma(-0.2) = 2 / (1 + e^-1) - 1 = 0.462117
    expected = (2 / (1 + math.exp(-1)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    result = evaluate(scores(s14=1.0))
    assert result.raw == pytest.approx(expected)
    assert result.normalised == pytest.approx(100 * (expected + 1) / 2)


def test_only_the_earliest_detection_in_a_window_counts() -> None:
    assert evaluate(scores(s10=1.0, s12=1.0, s14=1.0)).raw == pytest.approx(1.0)


def test_false_positive_before_the_first_window_costs_a_fp() -> None:
    result = evaluate(scores(s5=1.0, s10=1.0))
    assert result.raw == pytest.approx(1.0 - 0.11)
    assert result.normalised == pytest.approx(100 * 1.89 / 2)


def test_false_positive_after_a_window_is_relative_to_it() -> None:
    # |14 - 16| / (5 - 1) = 0.5 -> sigma(0.5) = -0.848284, times A_FP
    rows = nab.sweep_rows("f", TS, scores(s16=1.0), WINDOW, STANDARD)
    fp = [r for r in rows if r.anomaly_score == 1.0]
    assert fp[0].window is None
    assert fp[0].weight == pytest.approx(0.11 * (2 / (1 + math.exp(2.5)) - 1))


def test_probationary_rows_are_ignored() -> None:
    rows = nab.sweep_rows("f", TS, scores(s2=1.0), WINDOW, STANDARD)
    assert len(rows) == 17
    assert nab.total_at(rows, STANDARD, 1.0) == pytest.approx(-1.0)


def test_a_threshold_that_catches_everything_is_scored_too() -> None:
    # threshold 0 fires on every row: +1 for the window, -0.11 for each of rows 3..9,
    # and a discounted FP for each of rows 15..19 after the window
    after = sum(0.11 * nab.scaled_sigmoid((i - 14) / 4) for i in range(15, 20))
    expected = 1.0 - 7 * 0.11 + after
    result = evaluate(scores())
    assert result.threshold == 0.0
    assert result.raw == pytest.approx(expected)
    rows = nab.sweep_rows("f", TS, scores(), WINDOW, STANDARD)
    assert nab.total_at(rows, STANDARD, 0.0) == pytest.approx(expected)


def test_sweep_picks_the_best_threshold_over_distinct_scores() -> None:
    # threshold 0.9: one FP and a missed window (-1.11); threshold 0.6: FP + hit (0.89)
    result = evaluate(scores(s5=0.9, s10=0.6))
    assert result.threshold == 0.6
    assert result.raw == pytest.approx(0.89)


def test_sweep_keeps_the_higher_threshold_on_a_tie() -> None:
    # lowering from 0.8 to 0.3 adds a detection at the far right edge... and an FP
    result = evaluate(scores(s10=0.8, s3=0.3))
    assert result.threshold == 0.8
    assert result.raw == pytest.approx(1.0)


def test_profiles_weigh_misses_and_false_positives() -> None:
    low_fn = nab.PROFILES["reward_low_FN_rate"]
    missed = nab.sweep_rows("f", TS, scores(s5=1.0), WINDOW, low_fn)
    assert nab.total_at(missed, low_fn, 1.0) == pytest.approx(-2.0 - 0.11)
    assert nab.normalise(-2.0, 1, low_fn) == pytest.approx(0.0)
    low_fp = nab.PROFILES["reward_low_FP_rate"]
    assert evaluate(scores(s5=1.0, s10=1.0), low_fp).raw == pytest.approx(1 - 0.22)


def test_windows_add_up_across_files() -> None:
    rows = nab.sweep_rows("a", TS, scores(s10=1.0), WINDOW, STANDARD)
    rows += nab.sweep_rows("b", TS, scores(), WINDOW, STANDARD)
    assert nab.best_threshold(rows, STANDARD).windows == 2
    raw = nab.total_at(rows, STANDARD, 1.0)
    assert raw == pytest.approx(0.0)  # one perfect hit, one miss
    assert nab.normalise(raw, 2, STANDARD) == pytest.approx(50.0)


def test_a_window_off_the_rows_is_an_error() -> None:
    with pytest.raises(ValueError, match="not on the file's rows"):
        nab.sweep_rows("f", TS, scores(), [("t10", "t99")], STANDARD)
