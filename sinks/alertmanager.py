"""Spike alerts to Alertmanager's v2 API, the way Prometheus itself sends them.

Alertmanager forgets an alert whose ``endsAt`` passes, so firing alerts are re-sent
every ``resend_s`` with ``endsAt`` a few intervals ahead: if the notifier dies, on-call
sees the alert resolve instead of a page that never ends. A resolved alert is sent once
more with its ``endsAt``. Labels identify the alert; a change of severity ends the old
label set and starts the new one, so routing by severity stays right.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable
from typing import Any

from campaignpulse.streams.authenticity.alerts import AuthenticityAlert
from campaignpulse.streams.disclosure import DisclosureAlert
from campaignpulse.streams.spikes.alert import SpikeAlert, Status
from campaignpulse.streams.timestamps import format_timestamp_ms

log = logging.getLogger(__name__)
ALERT_NAME = "CampaignpulseFollowerSpike"
DISCLOSURE_ALERT_NAME = "CampaignpulseDisclosureMissing"
AUTHENTICITY_ALERT_NAME = "CampaignpulseInauthenticEngagement"
Payload = dict[str, Any]
Alert = SpikeAlert | DisclosureAlert | AuthenticityAlert


def disclosure_labels(alert: DisclosureAlert) -> dict[str, str]:
    """Routed to the campaign team (``team=campaign``), never to the pager."""
    return {
        "alertname": DISCLOSURE_ALERT_NAME,
        "alert_id": alert.alert_id,
        "team": "campaign",
        "service": "campaignpulse",
        "severity": "warning",
        "campaign_id": alert.campaign_id,
        "creator_id": alert.creator_id,
        "media_id": alert.media_id,
    }


def disclosure_payload(alert: DisclosureAlert, ends_at_ms: int,
                       labels: dict[str, str] | None = None) -> Payload:
    where = ("a disclosure tag only below the 125-character fold" if alert.reason == "below_fold"
             else "no paid-partnership label and no disclosure tag")
    return {
        "labels": labels or disclosure_labels(alert),
        "annotations": {
            "summary": f"{alert.creator_id}: sponsored media {alert.media_id} of campaign "
                       f"{alert.campaign_id} has {where}",
            "reason": alert.reason,
        },
        "startsAt": format_timestamp_ms(alert.published_at_ms),
        "endsAt": format_timestamp_ms(ends_at_ms),
    }


def authenticity_labels(alert: AuthenticityAlert) -> dict[str, str]:
    """Routed to the campaign team (``team=campaign``), never to the pager."""
    return {
        "alertname": AUTHENTICITY_ALERT_NAME,
        "alert_id": alert.alert_id,
        "team": alert.team,
        "service": "campaignpulse",
        "severity": alert.severity,
        "campaign_id": alert.campaign_id,
        "creator_id": alert.creator_id,
    }


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def authenticity_payload(alert: AuthenticityAlert, ends_at_ms: int,
                         labels: dict[str, str] | None = None) -> Payload:
    return {
        "labels": labels or authenticity_labels(alert),
        "annotations": {
            "summary": f"{alert.creator_id} in campaign {alert.campaign_id}: pod share "
                       f"{_share(alert.pod_share)}, bot share {_share(alert.bot_share)} of "
                       f"{alert.engagements} engagements, inauthentic audience at least "
                       f"{_share(alert.inauthentic_low)}",
            "reasons": ", ".join(alert.reasons),
        },
        "startsAt": format_timestamp_ms(alert.observed_at_ms),
        "endsAt": format_timestamp_ms(ends_at_ms),
    }


def labels_of(alert: Alert) -> dict[str, str]:
    if isinstance(alert, DisclosureAlert):
        return disclosure_labels(alert)
    if isinstance(alert, AuthenticityAlert):
        return authenticity_labels(alert)
    return {
        "alertname": ALERT_NAME,
        "alert_id": alert.alert_id,
        "creator_id": alert.creator_id,
        "severity": alert.severity.value,
        "service": "campaignpulse",
    }


def payload(alert: Alert, ends_at_ms: int, labels: dict[str, str] | None = None) -> Payload:
    if isinstance(alert, DisclosureAlert):
        return disclosure_payload(alert, ends_at_ms, labels)
    if isinstance(alert, AuthenticityAlert):
        return authenticity_payload(alert, ends_at_ms, labels)
    causes = ", ".join(alert.innocent_causes) or "none"
    return {
        "labels": labels or labels_of(alert),
        "annotations": {
            "summary": (
                f"{alert.creator_id} gained {alert.observed_growth} followers "
                f"(expected {alert.expected_growth:.0f})"
            ),
            "reasons": ", ".join(alert.reasons),
            "innocent_causes": causes,
            "campaign_ids": ", ".join(alert.campaign_ids),
            "score": f"{alert.score:.3f}",
            "started_at": format_timestamp_ms(alert.started_at_ms),
        },
        "startsAt": format_timestamp_ms(alert.started_at_ms),
        "endsAt": format_timestamp_ms(ends_at_ms),
    }


class AlertNotifier:
    """Decides what to post; the caller posts it. Pure, so tests drive it with a clock."""

    def __init__(self, resend_s: float, stale_s: float = 3600.0) -> None:
        self.resend_ms = int(resend_s * 1000)
        #: a firing alert with no news for this long is left to expire in Alertmanager:
        #: its worker may have restarted without the state to resolve it
        self.stale_ms = int(stale_s * 1000)
        self.active: dict[str, Alert] = {}
        self._labels: dict[str, dict[str, str]] = {}
        self._heard_ms: dict[str, int] = {}

    def handle(self, alert: Alert, now_ms: int) -> list[Payload]:
        known = self.active.get(alert.alert_id)
        if known is not None and known.version >= alert.version:
            return []  # replayed or reordered: nothing new
        out: list[Payload] = []
        old = self._labels.get(alert.alert_id)
        new = labels_of(alert)
        if old is not None and old != new:
            ended = known if known is not None else alert
            out.append(payload(ended, now_ms, old))
        if alert.status == Status.RESOLVED:
            self.active.pop(alert.alert_id, None)
            self._labels.pop(alert.alert_id, None)
            self._heard_ms.pop(alert.alert_id, None)
            ended_at = (alert.ended_at_ms or now_ms) if isinstance(alert, SpikeAlert) else now_ms
            out.append(payload(alert, min(ended_at, now_ms), new))
        else:
            self.active[alert.alert_id] = alert
            self._labels[alert.alert_id] = new
            self._heard_ms[alert.alert_id] = now_ms
            out.append(payload(alert, now_ms + 4 * self.resend_ms, new))
        return out

    def resend(self, now_ms: int) -> list[Payload]:
        for alert_id, heard in list(self._heard_ms.items()):
            # a campaign alert stands until its own state resolves it (a caption edit,
            # calm figures), and that state survives restarts: never stale
            stale = isinstance(self.active[alert_id], SpikeAlert)
            if stale and now_ms - heard > self.stale_ms:
                del self.active[alert_id], self._labels[alert_id], self._heard_ms[alert_id]
        return [payload(a, now_ms + 4 * self.resend_ms) for a in self.active.values()]


class AlertmanagerClient:
    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("alertmanager_url must be http(s)")
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.timeout_s = timeout_s

    def post(self, alerts: list[Payload]) -> None:
        if not alerts:
            return
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url, data=json.dumps(alerts).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
            if response.status >= 300:
                raise RuntimeError(f"alertmanager answered {response.status}")


Poster = Callable[[list[Payload]], None]
