"""Engagement maths shared by the stream, the sink's views and the tests' recounts."""

from __future__ import annotations

from collections.abc import Sequence

from campaignpulse.streams.contract import ENGAGEMENT_KINDS


def interactions(counts: Sequence[int]) -> int:
    """Likes + comments + saves + shares: what micro-influencers are paid for."""
    return sum(counts[i] for i in ENGAGEMENT_KINDS)


def rate(numerator: int, denominator: int | None) -> float | None:
    """A ratio that is undefined (None), not zero or infinite, without a denominator."""
    if not denominator:
        return None
    return numerator / denominator
