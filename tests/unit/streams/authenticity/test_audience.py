"""The fake-follower model, the Rogan–Gladen share and its interval, the per-creator
sample, and the README's numbers refitted from the datasets when they are present."""

import json
import math
from pathlib import Path

import pytest

from campaignpulse.streams.authenticity.audience import (
    Measured,
    Profile,
    inauthentic_share,
    shipped_model,
    wilson,
)
from campaignpulse.streams.authenticity.followers import AudienceMonitor, FollowerSample

DATASETS = Path(__file__).resolve().parents[4] / ".." / "shared" / "datasets"


def test_the_shipped_model_separates_typical_profiles():
    model = shipped_model()
    bought = Profile(followers=12, follows=2900, posts=0, has_profile_picture=False,
                     private=False)
    person = Profile(followers=420, follows=380, posts=150, has_profile_picture=True,
                     private=True)
    assert model.is_fake(bought) and not model.is_fake(person)
    assert 0.9 < model.sensitivity.value and 0.9 < model.specificity.value


def test_rogan_gladen_by_hand():
    se, sp = Measured(0.9, 10**9), Measured(0.95, 10**9)  # known exactly
    found = inauthentic_share(30, 100, se, sp)
    assert found is not None
    assert found.share == pytest.approx((0.30 + 0.95 - 1) / (0.9 + 0.95 - 1))
    low, high = wilson(30, 100)
    assert found.low == pytest.approx((low + 0.95 - 1) / 0.85, abs=1e-6)
    assert found.high == pytest.approx((high + 0.95 - 1) / 0.85, abs=1e-6)
    # the Wilson interval of 30 in 100, by its formula
    z = 1.959963984540054
    centre = (0.3 + z * z / 200) / (1 + z * z / 100)
    half = z * math.sqrt(0.3 * 0.7 / 100 + z * z / 40_000) / (1 + z * z / 100)
    assert (low, high) == pytest.approx((centre - half, centre + half))


def test_the_classifiers_own_error_widens_the_interval():
    exact = inauthentic_share(30, 100, Measured(0.9, 10**9), Measured(0.95, 10**9))
    measured = inauthentic_share(30, 100, Measured(0.9, 200), Measured(0.95, 994))
    assert exact and measured
    assert measured.share == exact.share
    assert measured.low < exact.low and measured.high > exact.high


def test_no_estimate_without_a_sample_or_a_useful_classifier():
    assert inauthentic_share(0, 0, Measured(0.9, 1), Measured(0.9, 1)) is None
    assert inauthentic_share(5, 10, Measured(0.5, 1), Measured(0.5, 1)) is None
    clipped = inauthentic_share(0, 100, Measured(0.9, 200), Measured(0.95, 994))
    assert clipped and clipped.share == 0.0 and clipped.low == 0.0


def test_a_follower_sampled_again_counts_once_and_the_sample_is_bounded():
    monitor = AudienceMonitor(max_sampled=100)
    fake = Profile(10, 3000, 0, False, False)
    real = Profile(500, 400, 120, True, False)
    for i in range(300):
        monitor.add(FollowerSample("c", f"f{i % 150}", 1000 + i, fake if i % 2 else real))
    row = monitor.estimate("c")
    assert row is not None and row.sampled == 100
    assert len(monitor.creators["c"].verdicts) <= 100 + 100 // 8
    # the newest 100 followers: f50..f149, observed at 1150..1299; odd i were fake
    assert row.flagged == 50


@pytest.mark.skipif(not (DATASETS / "instagram").is_dir(), reason="datasets not present")
def test_the_shipped_model_and_the_readme_numbers_are_what_the_datasets_give():
    from campaignpulse.audience_training import train

    refit = train(DATASETS / "instagram")
    shipped = shipped_model()
    assert refit.weights == shipped.weights and refit.threshold == shipped.threshold
    srf = refit.evaluation["srf_2017"]
    assert (srf["roc_auc"], srf["precision"], srf["recall"]) == (0.8768, 0.3524, 0.8163)
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    assert "**0.877** | **0.352** | **0.816** | **0.832**" in readme
    assert json.loads(json.dumps(shipped.evaluation)) == refit.evaluation
