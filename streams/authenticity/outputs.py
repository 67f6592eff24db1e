"""What the authenticity stage gives out: per-bucket rows, and evidence a manager can open."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from campaignpulse.streams.campaigns.definition import EMV_KINDS


class Exclusion(StrEnum):
    """Why an interaction is not authentic; the first that applies, in this order."""

    BOT_ACCOUNT = "bot_account"
    COPY_PASTE = "copy_paste"
    BURST = "burst"
    POD = "pod"


EXCLUSIONS = tuple(Exclusion)
#: the engagement kinds (likes, comments, saves, shares) among EMV_KINDS, by slot
ENGAGEMENT_SLOTS = tuple(EMV_KINDS.index(k) for k in ("like", "comment", "save", "share"))


@dataclass(slots=True)
class AuthenticityRow:
    """One media's interactions of one closed bucket (final when emitted)."""

    bucket_start_ms: int
    creator_id: str
    media_id: str
    campaign_id: str  # "" when they count for no campaign
    raw: list[int]  # per EMV_KINDS
    authentic: list[int]  # per EMV_KINDS
    excluded: list[int]  # engagements per EXCLUSIONS
    events: int = 0  # every interaction of the bucket, of any kind

    @classmethod
    def empty(cls, bucket_start_ms: int, creator_id: str, media_id: str,
              campaign_id: str) -> AuthenticityRow:
        n = len(EMV_KINDS)
        return cls(bucket_start_ms, creator_id, media_id, campaign_id, [0] * n, [0] * n,
                   [0] * len(EXCLUSIONS))

    def count(self, slot: int | None, engagement: bool, reason: int | None) -> None:
        self.events += 1
        if slot is not None:
            self.raw[slot] += 1
            if reason is None:
                self.authentic[slot] += 1
        if engagement and reason is not None:
            self.excluded[reason] += 1

    @property
    def interactions(self) -> int:
        return sum(self.raw[i] for i in ENGAGEMENT_SLOTS)

    @property
    def authentic_interactions(self) -> int:
        return sum(self.authentic[i] for i in ENGAGEMENT_SLOTS)

    @property
    def excluded_interactions(self) -> int:
        return sum(self.excluded)


@dataclass(frozen=True, slots=True)
class BotAccount:
    """An account the bot rules flagged, when first flagged (again, after a clear spell)."""

    actor_id: str
    reasons: tuple[str, ...]  # BotReason values
    bucket_start_ms: int
    creators: tuple[str, ...]  # the creators it engaged in that bucket


@dataclass(frozen=True, slots=True)
class CopyPasteCluster:
    """Near-duplicate comments: the band key with the most accounts, and a text on it."""

    cluster_id: str
    example: str
    accounts: tuple[str, ...]  # its most recent accounts (at most 8)
    creators: tuple[str, ...]
    bucket_start_ms: int
    comments: int  # comments flagged on it in this bucket
