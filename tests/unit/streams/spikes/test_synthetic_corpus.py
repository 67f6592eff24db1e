"""The default spike detector on a synthetic corpus of generic monitoring signals.

A second check beside the NAB subset, on series the detector was never tuned on, so a
change that only fits NAB's labels shows here as a lower score or an alarm storm.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest

from campaignpulse.streams.spikes import crossval, nab
from tests.unit.streams.spikes import synthetic_corpus

#: measured 83.9 for the default detector (standard profile, threshold 0.468; 80.1 before
#: values were judged after a square root and the hold opened from half the alert level,
#: 73.0 before seasonal slots and step sizes were learned clipped and new extremes
#: detrended); the floor leaves room for changes that trade a little here for more
#: elsewhere
STANDARD_FLOOR = 76.0
#: detections a family without anomalies may raise at the corpus-wide threshold
FEW = 3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[crossval.Series]:
    root = tmp_path_factory.mktemp("synthetic")
    windows = synthetic_corpus.generate(root)
    return crossval.load_corpus(root / "data", windows)


@pytest.fixture(scope="module")
def scores(corpus: list[crossval.Series]) -> crossval.Scores:
    return {s.name: crossval.score_series(s) for s in corpus}


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_the_same_corpus_is_written_every_time(tmp_path: Path) -> None:
    first = synthetic_corpus.generate(tmp_path / "a")
    second = synthetic_corpus.generate(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert len(a) == sum(seeds for _, seeds in synthetic_corpus.FAMILIES.values())
    assert a == b


def test_every_family_is_in_the_corpus_with_its_own_series(
    corpus: list[crossval.Series],
) -> None:
    by_family = {f: [s for s in corpus if s.category == f] for f in synthetic_corpus.FAMILIES}
    for family, series in by_family.items():
        assert len(series) == synthetic_corpus.FAMILIES[family][1] >= 2, family
        assert len({s.values for s in series}) == len(series), family
        assert all(3000 <= len(s.values) <= 12000 for s in series), family
        assert all(b > a for s in series for a, b in pairwise(s.times)), family
        labelled = all(s.windows for s in series)
        assert labelled == (family not in synthetic_corpus.NO_ANOMALY), family


def test_windows_are_nab_shaped_after_probation_and_apart(
    corpus: list[crossval.Series],
) -> None:
    for s in corpus:
        n, index = len(s.keys), {k: i for i, k in enumerate(s.keys)}
        spans = [(index[a], index[b]) for a, b in s.windows]
        last = math.floor(0.15 * n) - 1
        for first, end in spans:
            assert end - first + 1 == math.floor(0.10 * n / len(spans)), s.name
            assert last < first <= end < n, s.name
            last = end


def test_the_default_detector_clears_the_floor(
    corpus: list[crossval.Series], scores: crossval.Scores
) -> None:
    result = crossval.nab_result(corpus, scores, nab.PROFILES["standard"])
    assert result.windows == sum(len(s.windows) for s in corpus)
    assert result.normalised >= STANDARD_FLOOR


@pytest.mark.parametrize("family", [
    pytest.param("trend_no_anomaly", marks=pytest.mark.xfail(strict=True, reason=(
        "while the slow level's lag behind a trend still grows (its first ~1000 rows) the "
        "trend passes the detrended range: 1 and 5 detections measured (7 and 5 on raw "
        "values); drop this mark once it is fixed"))),
    "seasonal_no_anomaly",
])
def test_a_family_without_anomalies_raises_only_a_few_alarms(
    corpus: list[crossval.Series], scores: crossval.Scores, family: str
) -> None:
    threshold = crossval.nab_result(corpus, scores, nab.PROFILES["standard"]).threshold
    quiet = [s for s in corpus if s.category == family]
    assert quiet
    assert crossval.false_detections(quiet, scores, threshold) <= FEW
