"""disclosure_missing alerts as the notifier posts them: campaign team labels, no staleness."""

from dataclasses import replace

from campaignpulse.notify import read_alert
from campaignpulse.sinks.alertmanager import AlertNotifier
from campaignpulse.streams.disclosure import DisclosureAlert

T0 = 1_790_000_000_000
ALERT = DisclosureAlert("disclosure-m1", "cmp-1", "cr-1", "m1", "firing", "missing",
                        "warning", T0, 1)


def test_labels_route_to_the_campaign_team_and_resolve_with_ends_at():
    notifier = AlertNotifier(resend_s=30, stale_s=600)
    [first] = notifier.handle(read_alert(ALERT.to_json()), T0 + 1_000)
    assert first["labels"] == {
        "alertname": "CampaignpulseDisclosureMissing", "alert_id": "disclosure-m1",
        "team": "campaign", "service": "campaignpulse", "severity": "warning",
        "campaign_id": "cmp-1", "creator_id": "cr-1", "media_id": "m1",
    }
    assert first["startsAt"] == "2026-09-21T14:13:20.000Z"
    assert notifier.handle(ALERT, T0 + 2_000) == []  # the same version again: not news
    # a disclosure alert stands for days: it is re-sent, never left to expire
    assert len(notifier.resend(T0 + 3_600_000)) == 1
    resolved = replace(ALERT, status="resolved", version=2)
    [last] = notifier.handle(resolved, T0 + 3_700_000)
    assert notifier.resend(T0 + 3_800_000) == []
    assert last["labels"]["alertname"] == "CampaignpulseDisclosureMissing"
    assert last["endsAt"] == "2026-09-21T15:15:00.000Z"
