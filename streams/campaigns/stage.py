"""The campaign part of a micro-batch: KPIs, contests and disclosure, fed by the pipeline.

Pure like the pipeline. Definitions come in through :meth:`define_campaign` (the shell
reads ``ig.campaigns`` for it) and ``ig.contests`` records; accepted interactions and
media come from the pipeline's loop, after de-duplication and the lateness check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from campaignpulse.streams.campaigns.aggregator import CampaignKpiAggregator, CampaignKpiRow
from campaignpulse.streams.campaigns.definition import Campaign
from campaignpulse.streams.contests.definition import Contest
from campaignpulse.streams.contests.performance import ContestMinute, ContestPerformance
from campaignpulse.streams.contests.tracker import ContestTracker
from campaignpulse.streams.contract import Interaction, Media
from campaignpulse.streams.contract_campaigns import (
    comment_features,
    decode_campaign,
    decode_contest,
)
from campaignpulse.streams.disclosure import DisclosureAlert, DisclosureMonitor, check
from campaignpulse.streams.state.store import Store


class CampaignStage:
    def __init__(self, allowed_lateness_ms: int, store: Store | None = None,
                 watermark: Callable[[str], int] | None = None) -> None:
        """``watermark``: a creator's newest event time by the engagement windows' clock."""
        store = store if store is not None else Store()
        self.kpis = CampaignKpiAggregator(allowed_lateness_ms, store, watermark)
        self.contests = ContestTracker(allowed_lateness_ms, store, watermark)
        self.disclosure = DisclosureMonitor(store)

    def define_campaign(
        self, key: bytes | None, value: bytes | None
    ) -> tuple[str, Campaign | None]:
        """Apply one ``ig.campaigns`` record; raises ``Rejected`` for a bad one."""
        campaign_id, campaign = decode_campaign(key, value)
        self.kpis.define(campaign_id, campaign)
        return campaign_id, campaign

    def define_contest(self, key: bytes | None, value: bytes | None) -> Contest:
        contest = decode_contest(key, value)
        self.contests.define(contest)
        return contest

    def interaction(self, event: Interaction, partition: int, value: bytes | None) -> None:
        self.kpis.add(event, partition)
        text = comment_features(value) if self.contests.wants_text(event) else None
        self.contests.add(event, partition, text)

    def media(self, media: Media, partition: int) -> DisclosureAlert | None:
        campaign = self.kpis.campaigns.get(media.campaign_id) if media.campaign_id else None
        if campaign is None or not campaign.disclosure.required:
            return None
        finding = check(media.caption, media.paid_partnership, campaign.disclosure.tags)
        seen = hashlib.blake2b(f"{media.paid_partnership}\n{media.caption}".encode(),
                               digest_size=8).digest()
        return self.disclosure.observe(
            media.media_id, media.creator_id, media.campaign_id, media.published_at_ms,
            finding, int.from_bytes(seen, "big"), partition,
        )

    def drain(self) -> tuple[list[CampaignKpiRow], list[ContestPerformance],
                             list[ContestMinute]]:
        performance, minutes = self.contests.drain()
        return self.kpis.drain(), performance, minutes
