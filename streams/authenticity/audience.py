"""Audience quality: fake follower profiles and a creator's inauthentic share, with an interval.

The classifier is a logistic regression on profile features that both InstaFake (its
training set) and SRF 2017 (its held-out test set) carry; its parameters ship as
``audience_model.json`` (``campaignpulse/audience_training.py`` fits them). Inference
is plain Python.

A creator's share comes from a sample of its followers: the share the classifier calls
fake (the apparent rate) is corrected for the classifier's measured sensitivity Se and
specificity Sp (Rogan–Gladen: π = (p + Sp − 1) / (Se + Sp − 1)). The interval is the
Wilson score interval of the apparent rate mapped through that correction, widened in
quadrature by the delta-method error that Se and Sp bring from their own finite test sets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import msgspec

#: the 95 % normal quantile
Z95 = 1.959963984540054


class Profile(msgspec.Struct, array_like=True, frozen=True):
    """A sampled follower's public profile (``ig.follower_samples``)."""

    followers: int
    follows: int
    posts: int
    has_profile_picture: bool
    private: bool
    #: accepted by the contract, unused by the model (SRF 2017 cannot test them)
    biography_length: int | None = None
    username_digits: int | None = None


class Measured(msgspec.Struct, frozen=True):
    value: float
    n: int  # the labelled accounts it was measured on

    def variance(self) -> float:
        return self.value * (1 - self.value) / self.n if self.n else 0.0


class AudienceModel(msgspec.Struct, frozen=True):
    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    threshold: float
    #: out-of-fold on the training set, at ``threshold``
    sensitivity: Measured
    specificity: Measured
    evaluation: dict[str, dict[str, float | int | list[float]]] = {}

    def score(self, profile: Profile) -> float:
        """Probability-like score that the profile is fake."""
        x = _features(profile)
        z = self.bias + sum(
            w * (v - m) / s
            for w, v, m, s in zip(self.weights, x, self.mean, self.scale, strict=True)
        )
        return 1 / (1 + math.exp(-z)) if z > -700 else 0.0

    def is_fake(self, profile: Profile) -> bool:
        return self.score(profile) >= self.threshold


FEATURES = (
    "log_followers", "log_follows", "log_posts", "no_posts", "has_profile_picture", "private",
)


def _features(p: Profile) -> tuple[float, ...]:
    return (
        math.log1p(p.followers), math.log1p(p.follows), math.log1p(p.posts),
        float(p.posts == 0), float(p.has_profile_picture), float(p.private),
    )


def features(p: Profile) -> tuple[float, ...]:
    """The model's inputs, in ``FEATURES`` order (for the training script)."""
    return _features(p)


@cache
def shipped_model() -> AudienceModel:
    raw = files("campaignpulse.streams.authenticity").joinpath("audience_model.json").read_bytes()
    return msgspec.json.decode(raw, type=AudienceModel)


@dataclass(frozen=True, slots=True)
class ShareEstimate:
    sampled: int
    flagged: int  # classified fake
    apparent: float  # flagged ÷ sampled
    share: float  # Rogan–Gladen corrected, clipped to [0, 1]
    low: float
    high: float


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def inauthentic_share(
    flagged: int, sampled: int, sensitivity: Measured, specificity: Measured, z: float = Z95
) -> ShareEstimate | None:
    """The corrected share with its interval; None without a sample or a useful classifier."""
    se, sp = sensitivity.value, specificity.value
    youden = se + sp - 1
    if sampled <= 0 or youden <= 0:
        return None

    def corrected(p: float) -> float:
        return min(1.0, max(0.0, (p + sp - 1) / youden))

    apparent = flagged / sampled
    share = corrected(apparent)
    p_low, p_high = wilson(flagged, sampled, z)
    classifier = z * math.sqrt(
        share**2 * sensitivity.variance() + (1 - share) ** 2 * specificity.variance()
    ) / youden
    low = share - math.hypot(share - corrected(p_low), classifier)
    high = share + math.hypot(corrected(p_high) - share, classifier)
    return ShareEstimate(sampled, flagged, apparent, share, max(0.0, low), min(1.0, high))


def model_json(model: AudienceModel) -> str:
    """The model as the JSON shipped in the package (stable, indented)."""
    return json.dumps(msgspec.to_builtins(model), indent=2, sort_keys=True) + "\n"
