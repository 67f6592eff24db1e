"""Campaign KPIs per creator, per hour and to date, from accepted interactions.

An interaction counts toward a campaign when it carries that ``campaign_id``, its creator
is listed in the campaign, and its event time is inside ``starts_at .. ends_at``. Rows are
per creator within a campaign (a creator lives on one partition, so one worker owns the
row); campaign totals are sums in the read model, as for engagement. The to-date grain is
an event-time window as long as the campaign: it stays open, and holds back commits on
its partition, until the creator's watermark passes ``ends_at``, so a restart rebuilds it
whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from campaignpulse.streams.campaigns.definition import EMV_KINDS, Campaign
from campaignpulse.streams.campaigns.kpis import emv, hour_cost, money
from campaignpulse.streams.contract import ENGAGEMENT_KINDS, KINDS, VIEW_KINDS, Interaction

HOUR_MS = 3_600_000
TO_DATE = 0  # window_seconds of the to-date grain
_EMV_SLOT = {KINDS.index(kind): i for i, kind in enumerate(EMV_KINDS)}


@dataclass(slots=True)
class _Window:
    partition: int
    first_offset: int
    counts: list[int] = field(default_factory=lambda: [0] * len(EMV_KINDS))
    interactions: int = 0
    viewers: set[str] = field(default_factory=set)
    events: int = 0


@dataclass(frozen=True, slots=True)
class CampaignKpiRow:
    """The current state of one creator in one campaign, in one hour or to date."""

    window_seconds: int  # 3600, or 0 for to date
    #: the hour; 0 to date (a fixed key: a changed starts_at must not start a second row)
    window_start_ms: int
    window_end_ms: int  # the hour's end, or the campaign's ends_at
    campaign_id: str
    creator_id: str
    counts: tuple[int, ...]  # in EMV_KINDS order
    interactions: int
    reach: int
    emv: Decimal
    cost: Decimal
    version: int


# (campaign id, creator id, window seconds, window start)
Key = tuple[str, str, int, int]


class CampaignKpiAggregator:
    def __init__(self, allowed_lateness_ms: int) -> None:
        self.allowed_lateness_ms = allowed_lateness_ms
        self.campaigns: dict[str, Campaign] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._windows: dict[Key, _Window] = {}
        self._dirty: set[Key] = set()
        self._newest: dict[str, int] = {}  # creator -> newest event time fed
        #: interactions with a campaign id that did not count (unknown, unlisted, outside)
        self.ignored = 0

    def define(self, campaign_id: str, campaign: Campaign | None) -> None:
        """A new, changed or (None) deleted definition; rows already written stay."""
        if campaign is None:
            self.campaigns.pop(campaign_id, None)
            self._members.pop(campaign_id, None)
        else:
            self.campaigns[campaign_id] = campaign
            self._members[campaign_id] = frozenset(c.creator_id for c in campaign.creators)

    def add(self, event: Interaction, partition: int, offset: int) -> None:
        """Fold in an interaction the engagement windows accepted (not late, not repeated)."""
        ts = event.occurred_at_ms
        if ts > self._newest.get(event.creator_id, -1):
            self._newest[event.creator_id] = ts
        if not event.campaign_id:
            return
        campaign = self.campaigns.get(event.campaign_id)
        if (campaign is None or not campaign.covers(ts)
                or event.creator_id not in self._members[event.campaign_id]):
            self.ignored += 1
            return
        slot = _EMV_SLOT.get(event.kind)
        for seconds, start in ((3600, ts - ts % HOUR_MS), (TO_DATE, 0)):
            key = (event.campaign_id, event.creator_id, seconds, start)
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(partition, offset)
            if slot is not None:
                window.counts[slot] += 1
            if event.kind in ENGAGEMENT_KINDS:
                window.interactions += 1
            if event.kind in VIEW_KINDS:
                window.viewers.add(event.actor_id)
            window.events += 1
            self._dirty.add(key)

    def newest(self, creator_id: str) -> int:
        """The creator's newest event time folded in (-1 before any)."""
        return self._newest.get(creator_id, -1)

    def drain(self) -> list[CampaignKpiRow]:
        """Rows changed since the last drain; then forget windows the watermark has passed."""
        rows = []
        for key in self._dirty:
            campaign = self.campaigns.get(key[0])
            if campaign is not None:
                rows.append(self._row(key, self._windows[key], campaign))
        self._dirty.clear()
        for key in [k for k in self._windows if self._closed(k)]:
            del self._windows[key]
        return rows

    def _closed(self, key: Key) -> bool:
        campaign_id, creator_id, seconds, start = key
        watermark = self._newest.get(creator_id, -1) - self.allowed_lateness_ms
        if seconds:
            return start + HOUR_MS <= watermark
        campaign = self.campaigns.get(campaign_id)
        return campaign is None or campaign.ends_at <= watermark

    @staticmethod
    def _row(key: Key, window: _Window, campaign: Campaign) -> CampaignKpiRow:
        campaign_id, creator_id, seconds, start = key
        counts = dict(zip(EMV_KINDS, window.counts, strict=True))
        fee = campaign.fees().get(creator_id, Decimal(0))
        if seconds:
            cost = hour_cost(fee, campaign.starts_at, campaign.ends_at, start)
        else:
            cost = money(fee)  # the whole fee is committed once the campaign starts
        return CampaignKpiRow(
            window_seconds=seconds, window_start_ms=start,
            window_end_ms=start + HOUR_MS if seconds else campaign.ends_at,
            campaign_id=campaign_id,
            creator_id=creator_id, counts=tuple(window.counts),
            interactions=window.interactions, reach=len(window.viewers),
            emv=emv(counts, campaign.rates()), cost=cost, version=window.events,
        )

    def resume_offsets(self, partitions: Iterable[int]) -> dict[int, int]:
        """Per partition, the lowest offset an open campaign window still needs."""
        wanted = set(partitions)
        lowest: dict[int, int] = {}
        for window in self._windows.values():
            p = window.partition
            if p in wanted and window.first_offset < lowest.get(p, window.first_offset + 1):
                lowest[p] = window.first_offset
        return lowest

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        gone = set(partitions)
        for key in [k for k, w in self._windows.items() if w.partition in gone]:
            del self._windows[key]
            self._dirty.discard(key)

    def open_windows(self) -> int:
        return len(self._windows)
