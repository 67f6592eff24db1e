"""Per creator, the sampled followers' verdicts and the inauthentic share they give.

State per creator: the most recent verdict of each sampled follower (the profile is
scored on arrival and dropped), at most ``max_sampled`` followers sampled within
``sample_window_ms`` of the creator's newest sample: a re-sampled follower counts once.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from campaignpulse.streams.authenticity.audience import (
    AudienceModel,
    Profile,
    inauthentic_share,
    shipped_model,
)
from campaignpulse.streams.authenticity.rules import DAY_MS


class FollowerSample(msgspec.Struct, frozen=True):
    """One sampled follower profile of a creator (a decoded ``ig.follower_samples`` record)."""

    creator_id: str
    follower_id: str
    observed_at_ms: int
    profile: Profile


class CreatorSample(msgspec.Struct):
    #: follower id -> (observed at ms, classified fake)
    verdicts: dict[str, tuple[int, bool]]
    newest_ms: int = -1


@dataclass(frozen=True, slots=True)
class AudienceRow:
    creator_id: str
    observed_at_ms: int  # the newest sample counted
    sampled: int
    flagged: int
    apparent: float
    share: float
    low: float
    high: float


class AudienceMonitor:
    def __init__(self, model: AudienceModel | None = None, max_sampled: int = 2000,
                 sample_window_ms: int = 90 * DAY_MS) -> None:
        self.model = model or shipped_model()
        self.max_sampled = max_sampled
        self.sample_window_ms = sample_window_ms
        self.creators: dict[str, CreatorSample] = {}

    def add(self, sample: FollowerSample) -> None:
        state = self.creators.get(sample.creator_id)
        if state is None:
            state = self.creators[sample.creator_id] = CreatorSample({})
        known = state.verdicts.get(sample.follower_id)
        if known is not None and known[0] >= sample.observed_at_ms:
            return  # an older or repeated observation of this follower
        state.verdicts[sample.follower_id] = (sample.observed_at_ms,
                                              self.model.is_fake(sample.profile))
        state.newest_ms = max(state.newest_ms, sample.observed_at_ms)
        if len(state.verdicts) > self.max_sampled + self.max_sampled // 8:
            state.verdicts = dict(self._counted(state))

    def _counted(self, state: CreatorSample) -> list[tuple[str, tuple[int, bool]]]:
        """The most recent ``max_sampled`` followers sampled within the window."""
        since = state.newest_ms - self.sample_window_ms
        recent = [(f, v) for f, v in state.verdicts.items() if v[0] >= since]
        recent.sort(key=lambda fv: (fv[1][0], fv[0]), reverse=True)
        return recent[:self.max_sampled]

    def estimate(self, creator_id: str) -> AudienceRow | None:
        state = self.creators.get(creator_id)
        if state is None or not state.verdicts:
            return None
        counted = self._counted(state)
        flagged = sum(1 for _, (_, fake) in counted if fake)
        found = inauthentic_share(flagged, len(counted), self.model.sensitivity,
                                  self.model.specificity)
        if found is None:
            return None
        return AudienceRow(creator_id, state.newest_ms, found.sampled, found.flagged,
                           found.apparent, found.share, found.low, found.high)
