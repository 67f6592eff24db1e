"""Rows of the campaign, contest and disclosure tables (``sinks/schema_campaigns.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from campaignpulse.sinks.schema_campaigns import (
    CAMPAIGN_COLUMNS,
    CONTEST_COLUMNS,
    CONTEST_MINUTE_COLUMNS,
    DISCLOSURE_COLUMNS,
    KPI_COLUMNS,
    KPI_TABLES,
)
from campaignpulse.streams.campaigns.aggregator import CampaignKpiRow
from campaignpulse.streams.campaigns.definition import Campaign
from campaignpulse.streams.campaigns.kpis import cents
from campaignpulse.streams.contests.performance import ContestMinute, ContestPerformance
from campaignpulse.streams.disclosure import DisclosureAlert

Insert = Callable[[str, Sequence[str], list[tuple[Any, ...]]], object]


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class CampaignDefinitionRow:
    campaign_id: str
    campaign: Campaign | None  # None: deleted
    offset: int  # position on the compacted topic: later definitions win


@dataclass
class CampaignWrites:
    """What a flush writes for campaigns; the newest row per grain only."""

    definitions: list[CampaignDefinitionRow] = field(default_factory=list)
    kpis: dict[tuple[str, str, int, int], CampaignKpiRow] = field(default_factory=dict)
    contests: dict[str, ContestPerformance] = field(default_factory=dict)
    minutes: dict[tuple[str, int], ContestMinute] = field(default_factory=dict)
    disclosure: list[DisclosureAlert] = field(default_factory=list)

    def add(self, kpis: Sequence[CampaignKpiRow], contests: Sequence[ContestPerformance],
            minutes: Sequence[ContestMinute], disclosure: Sequence[DisclosureAlert]) -> None:
        for k in kpis:
            self.kpis[(k.campaign_id, k.creator_id, k.window_seconds, k.window_start_ms)] = k
        for c in contests:
            self.contests[c.contest_id] = c
        for m in minutes:
            self.minutes[(m.contest_id, m.minute_start_ms)] = m
        self.disclosure.extend(disclosure)

    def __len__(self) -> int:
        return (len(self.definitions) + len(self.kpis) + len(self.contests) + len(self.minutes)
                + len(self.disclosure))

    def write(self, insert: Insert) -> None:
        insert("campaigns", CAMPAIGN_COLUMNS, [definition_tuple(d) for d in self.definitions])
        by_grain: dict[str, list[tuple[Any, ...]]] = {table: [] for table in KPI_TABLES.values()}
        for k in self.kpis.values():
            by_grain[KPI_TABLES[k.window_seconds]].append(kpi_tuple(k))
        for table, rows in by_grain.items():
            insert(table, KPI_COLUMNS, rows)
        insert("contest_performance", CONTEST_COLUMNS,
               [contest_tuple(c) for c in self.contests.values()])
        insert("contest_entries_minute", CONTEST_MINUTE_COLUMNS,
               [minute_tuple(m) for m in self.minutes.values()])
        insert("disclosure_alerts", DISCLOSURE_COLUMNS,
               [disclosure_tuple(a) for a in self.disclosure])


def definition_tuple(row: CampaignDefinitionRow) -> tuple[Any, ...]:
    c = row.campaign
    if c is None:
        return (row.campaign_id, "", "", "", _utc(0), _utc(0), 0, 0, 0, "", 1, row.offset + 1)
    return (
        c.campaign_id, c.brand, c.name, c.currency, _utc(c.starts_at), _utc(c.ends_at),
        len(c.creators), cents(c.total_fee()), int(c.disclosure.required),
        c.to_json().decode(), 0, row.offset + 1,
    )


def kpi_tuple(row: CampaignKpiRow) -> tuple[Any, ...]:
    return (
        row.window_seconds, _utc(row.window_start_ms), _utc(row.window_end_ms),
        row.campaign_id, row.creator_id, *row.counts, row.interactions, row.reach,
        cents(row.emv), cents(row.cost), row.version,
    )


def contest_tuple(c: ContestPerformance) -> tuple[Any, ...]:
    return (
        c.contest_id, c.creator_id, c.media_id, c.campaign_id, _utc(c.starts_at_ms),
        _utc(c.ends_at_ms), cents(c.prize_value), int(c.final), c.entries, c.valid_entries,
        c.provisional_entries, *c.invalid, c.unique_entrants,
        None if c.cost_per_valid_entry is None else cents(c.cost_per_valid_entry),
        c.identical_text_entries, c.mention_magnets, c.burst_entries, c.new_entrants, c.version,
    )


def minute_tuple(m: ContestMinute) -> tuple[Any, ...]:
    return (m.contest_id, _utc(m.minute_start_ms), m.entries, m.valid_entries,
            m.provisional_entries, m.version)


def disclosure_tuple(a: DisclosureAlert) -> tuple[Any, ...]:
    return (a.alert_id, a.campaign_id, a.creator_id, a.media_id, a.status, a.reason,
            a.severity, _utc(a.published_at_ms), a.version)

