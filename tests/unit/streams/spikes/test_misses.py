"""The missed-window report: which windows, and what the series and detector did there."""

from campaignpulse.streams.spikes import crossval
from campaignpulse.streams.spikes.detector import EVIDENCE
from campaignpulse.streams.spikes.misses import misses, misses_table


def test_only_windows_without_a_detection_are_reported_with_their_context() -> None:
    values = [10.0 + (i * 7919 % 13) / 13 for i in range(1500)]
    values[1000] = 80.0  # a new extreme: found
    for i in range(1200, 1251):
        values[i] -= 0.3  # a drop of about one spread: not found
    keys = tuple(f"t{i:04d}" for i in range(1500))
    series = crossval.Series(
        "c/s.csv", keys, tuple(i * 300_000 for i in range(1500)), tuple(values),
        (("t0950", "t1050"), ("t1200", "t1250")),
    )
    scores = {series.name: crossval.score_series(series)}
    assert scores[series.name][1000] == 1.0
    (miss,) = misses([series], scores, {"c": 0.9})
    assert (miss.name, miss.window, miss.threshold) == ("c/s.csv", (1200, 1250), 0.9)
    assert miss.peak == max(scores[series.name][1200:1251]) < 0.9
    assert 1200 <= miss.peak_row <= 1250
    assert all(name in EVIDENCE for name, _ in miss.channels)
    assert miss.inside[0] < miss.before[0] - 0.2  # the drop, as the values show it
    assert miss.range_before == (10.0, 80.0)
    assert 0.0 < miss.outside_peak < 0.9
    table = misses_table([miss])
    assert "| c/s.csv | 1200-1250 |" in table and "[10, 80]" in table
