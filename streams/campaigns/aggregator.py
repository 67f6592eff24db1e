"""Campaign KPIs per creator, per hour and to date, from accepted interactions.

An interaction counts toward a campaign when it carries that ``campaign_id``, its creator
is listed in the campaign, and its event time is inside ``starts_at .. ends_at``. Rows are
per creator within a campaign (a creator lives on one partition, so one worker owns the
row); campaign totals are sums in the read model, as for engagement. The to-date grain is
an event-time window as long as the campaign: it stays open until the creator's watermark
(the engagement windows' one) passes ``ends_at``. Every open window is in the store:
its counts in table ``kpis``, its distinct viewers (reach) in log ``kpi_viewers``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from campaignpulse.streams.campaigns.definition import EMV_KINDS, Campaign
from campaignpulse.streams.campaigns.kpis import emv, hour_cost, money
from campaignpulse.streams.contract import ENGAGEMENT_KINDS, KINDS, VIEW_KINDS, Interaction
from campaignpulse.streams.state.store import Store

HOUR_MS = 3_600_000
TO_DATE = 0  # window_seconds of the to-date grain
_EMV_SLOT = {KINDS.index(kind): i for i, kind in enumerate(EMV_KINDS)}


@dataclass(slots=True)
class _Window:
    counts: list[int] = field(default_factory=lambda: [0] * len(EMV_KINDS))
    interactions: int = 0
    viewers: set[str] = field(default_factory=set)
    events: int = 0


class KpiState(msgspec.Struct, array_like=True):
    """A KPI window in the store; its viewers are in log ``kpi_viewers``."""

    counts: list[int]
    interactions: int
    events: int


_encode = msgspec.msgpack.Encoder().encode
_state_decoder = msgspec.msgpack.Decoder(KpiState)


def _encode_window(window: _Window) -> bytes:
    return _encode(KpiState(window.counts, window.interactions, window.events))


def _decode_window(raw: bytes) -> _Window:
    state = _state_decoder.decode(raw)
    if len(state.counts) != len(EMV_KINDS):
        raise ValueError("counts of the wrong length")
    return _Window(state.counts, state.interactions, set(), state.events)


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
    def __init__(self, allowed_lateness_ms: int, store: Store | None = None,
                 watermark: Callable[[str], int] | None = None) -> None:
        """``watermark``: a creator's newest event time as the engagement windows believe
        it (one clock rule for every window); without one, the newest fed here."""
        store = store if store is not None else Store()
        self.allowed_lateness_ms = allowed_lateness_ms
        self.campaigns: dict[str, Campaign] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._table = store.table("kpis", _encode_window, _decode_window)
        self._windows = self._table.values
        self._viewers = store.log("kpi_viewers", str)
        store.on_restore(self._restored)
        #: rows to write next drain (not state: rows are written before each checkpoint)
        self._dirty: set[Key] = set()
        self._newest: dict[str, int] | None = None if watermark else {}
        self._watermark = watermark or (lambda creator: (self._newest or {}).get(creator, -1))
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

    def add(self, event: Interaction, partition: int) -> None:
        """Fold in an interaction the engagement windows accepted (not late, not repeated)."""
        ts = event.occurred_at_ms
        newest = self._newest
        if newest is not None and ts > newest.get(event.creator_id, -1):
            newest[event.creator_id] = ts
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
                window = _Window()
                self._table.put(key, window, partition)
            else:
                self._table.touch(key)
            if slot is not None:
                window.counts[slot] += 1
            if event.kind in ENGAGEMENT_KINDS:
                window.interactions += 1
            if event.kind in VIEW_KINDS and event.actor_id not in window.viewers:
                window.viewers.add(event.actor_id)
                self._viewers.append(key, event.actor_id, partition)
            window.events += 1
            self._dirty.add(key)

    def _restored(self) -> None:
        for _, window, viewers in self._viewers.take_restored(self._windows.get):
            window.viewers.update(viewers)

    def drain(self) -> list[CampaignKpiRow]:
        """Rows changed since the last drain; then forget windows the watermark has passed."""
        rows = []
        for key in self._dirty:
            campaign = self.campaigns.get(key[0])
            if campaign is not None:
                rows.append(self._row(key, self._windows[key], campaign))
        self._dirty.clear()
        for key in [k for k in self._windows if self._closed(k)]:
            self._table.delete(key)
            self._viewers.delete(key)
        return rows

    def _closed(self, key: Key) -> bool:
        campaign_id, creator_id, seconds, start = key
        watermark = self._watermark(creator_id) - self.allowed_lateness_ms
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

    def open_windows(self) -> int:
        return len(self._windows)
