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
POD_SLOT = EXCLUSIONS.index(Exclusion.POD)


class Counts:
    """Raw and authentic counts per EMV kind and exclusions per reason, and what they give
    (a row's, or a sum of rows')."""

    __slots__ = ()
    raw: list[int] | tuple[int, ...]  # per EMV_KINDS
    authentic: list[int] | tuple[int, ...]  # per EMV_KINDS
    excluded: list[int] | tuple[int, ...]  # engagements per EXCLUSIONS

    @property
    def interactions(self) -> int:
        return sum(self.raw[i] for i in ENGAGEMENT_SLOTS)

    @property
    def authentic_interactions(self) -> int:
        return sum(self.authentic[i] for i in ENGAGEMENT_SLOTS)

    @property
    def excluded_interactions(self) -> int:
        return sum(self.excluded)

    @property
    def pod_excluded(self) -> int:
        return self.excluded[POD_SLOT]

    def share(self, *reasons: Exclusion) -> float | None:
        """Share of raw engagements excluded for these reasons (None without any)."""
        n = self.interactions
        return sum(self.excluded[EXCLUSIONS.index(r)] for r in reasons) / n if n else None

    @property
    def pod_share(self) -> float | None:
        return self.share(Exclusion.POD)

    @property
    def bot_share(self) -> float | None:
        return self.share(Exclusion.BOT_ACCOUNT, Exclusion.COPY_PASTE, Exclusion.BURST)


@dataclass(slots=True)
class AuthenticityRow(Counts):
    """One media's interactions of one closed bucket (final when emitted)."""

    bucket_start_ms: int
    creator_id: str
    media_id: str
    campaign_id: str  # "" when they count for no campaign
    raw: list[int]
    authentic: list[int]
    excluded: list[int]
    events: int = 0  # every interaction of the bucket, of any kind

    @classmethod
    def empty(cls, bucket_start_ms: int, creator_id: str, media_id: str,
              campaign_id: str) -> AuthenticityRow:
        n = len(EMV_KINDS)
        return cls(bucket_start_ms, creator_id, media_id, campaign_id, [0] * n, [0] * n,
                   [0] * len(EXCLUSIONS))


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
