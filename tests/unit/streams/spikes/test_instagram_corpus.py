"""The default spike detector on the Instagram corpus: real posting rhythm and post sizes
with injected incidents, the bursty weekly-cycle counts a creator's series are.

Skipped where ``../shared/datasets`` is absent (the corpus is made from it).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from campaignpulse.streams.spikes import crossval, nab
from tests.unit.streams.spikes import instagram_corpus
from tests.unit.streams.spikes.test_synthetic_corpus import files

pytestmark = pytest.mark.skipif(
    not instagram_corpus.DATASETS.is_dir(), reason="shared datasets not present"
)

#: measured for the default detector (standard profile, threshold swept per family and
#: over the whole corpus): 58.8 in all, engagement 48.9, followers 83.0, platform 41.5
#: (36.9, 25.4, 72.7, 7.8 before values were judged after a square root and the hold
#: opened from half the alert level); the floors leave room for changes that trade a
#: little here for more elsewhere
STANDARD_FLOOR = {"ALL": 52.0, "ig_engagement": 42.0, "ig_followers": 76.0, "ig_platform": 33.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[crossval.Series]:
    root = tmp_path_factory.mktemp("instagram")
    windows = instagram_corpus.generate(root)
    return crossval.load_corpus(root / "data", windows)


def test_the_same_corpus_is_written_every_time(tmp_path: Path) -> None:
    first = instagram_corpus.generate(tmp_path / "a")
    second = instagram_corpus.generate(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert len(a) == sum(count for _, count in instagram_corpus.FAMILIES.values())
    assert a == b


def test_every_series_is_hourly_over_26_weeks_with_two_nab_windows(
    corpus: list[crossval.Series],
) -> None:
    assert {s.category for s in corpus} == set(instagram_corpus.FAMILIES)
    assert len({s.values for s in corpus}) == len(corpus)
    for s in corpus:
        n, index = len(s.keys), {k: i for i, k in enumerate(s.keys)}
        assert n == instagram_corpus.SPAN_HOURS, s.name
        assert {b - a for a, b in zip(s.times, s.times[1:], strict=False)} == {3_600_000}
        spans = [(index[a], index[b]) for a, b in s.windows]
        assert len(spans) == 2, s.name
        last = math.floor(0.15 * n) - 1
        for first, end in spans:
            assert end - first + 1 == math.floor(0.10 * n / 2), s.name
            assert last < first, s.name
            last = end


def test_the_posting_rhythm_is_real_busier_by_day_and_at_weekends() -> None:
    week = instagram_corpus.activity(instagram_corpus.DATASETS)
    assert len(week) == 168
    assert max(week[d * 24 + 4] for d in range(7)) < min(week[d * 24 + 17] for d in range(7))
    weekday = sum(week[: 5 * 24]) / 5
    weekend = sum(week[5 * 24:]) / 2
    assert weekend > weekday


def test_the_default_detector_clears_the_floors(corpus: list[crossval.Series]) -> None:
    scores = {s.name: crossval.score_series(s) for s in corpus}
    profile = nab.PROFILES["standard"]
    for family, floor in STANDARD_FLOOR.items():
        part = [s for s in corpus if family in ("ALL", s.category)]
        assert crossval.nab_result(part, scores, profile).normalised >= floor, family
