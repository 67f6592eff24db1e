"""Per campaign creator, to-date engagements by verdict, and the alerts they give."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from campaignpulse.streams.authenticity.alerts import (
    AuthenticityAlert,
    AuthenticityAlertMonitor,
    Figures,
)
from campaignpulse.streams.authenticity.followers import AudienceMonitor, AudienceRow
from campaignpulse.streams.authenticity.outputs import AuthenticityRow
from campaignpulse.streams.campaigns.definition import Campaign


class CampaignWatch:
    def __init__(self, campaigns: Mapping[str, Campaign], audience: AudienceMonitor,
                 alerts: AuthenticityAlertMonitor) -> None:
        self.campaigns = campaigns
        self.audience = audience
        self.alerts = alerts
        #: (campaign, creator) -> [engagements, pod-excluded, bot-excluded] to date
        self.totals: dict[tuple[str, str], list[int]] = {}

    def rows(self, rows: Iterable[AuthenticityRow], at_ms: int) -> list[AuthenticityAlert]:
        """Fold in a closed bucket's rows; the alert versions they cause."""
        changed: set[tuple[str, str]] = set()
        for row in rows:
            if not row.campaign_id or not row.interactions:
                continue
            key = (row.campaign_id, row.creator_id)
            total = self.totals.setdefault(key, [0, 0, 0])
            total[0] += row.interactions
            total[1] += row.pod_excluded
            total[2] += row.excluded_interactions - row.pod_excluded
            changed.add(key)
        return [a for key in sorted(changed) if (a := self._observe(*key, at_ms)) is not None]

    def audience_changed(self, row: AudienceRow) -> list[AuthenticityAlert]:
        """A creator's new audience estimate, observed for every campaign listing it."""
        out = []
        for campaign_id in sorted(self.campaigns):
            if any(c.creator_id == row.creator_id for c in self.campaigns[campaign_id].creators):
                alert = self._observe(campaign_id, row.creator_id, row.observed_at_ms)
                if alert is not None:
                    out.append(alert)
        return out

    def _observe(self, campaign_id: str, creator_id: str,
                 at_ms: int) -> AuthenticityAlert | None:
        engagements, pod, bot = self.totals.get((campaign_id, creator_id), [0, 0, 0])
        audience = self.audience.estimate(creator_id)
        figures = Figures(engagements, pod / engagements if engagements else None,
                          bot / engagements if engagements else None,
                          audience.low if audience is not None else None)
        return self.alerts.observe(campaign_id, creator_id, at_ms, figures)
