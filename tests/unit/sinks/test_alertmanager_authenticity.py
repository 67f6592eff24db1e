"""inauthentic_engagement alerts as the notifier posts them: read from the alerts topic's
JSON, campaign-team labels, a version seen twice is no news, resolved ends it."""

from dataclasses import replace

from campaignpulse.notify import read_alert
from campaignpulse.sinks.alertmanager import AlertNotifier
from campaignpulse.streams.authenticity.alerts import AuthenticityAlert

T0 = 1_790_000_000_000
ALERT = AuthenticityAlert("authenticity-cmp-1-cr-1", "cmp-1", "cr-1", "firing",
                          ("pod_share", "bot_share_jump"), 0.31, 0.12, None, 420, T0, 1)


def test_read_from_json_labelled_for_the_campaign_team_and_resolved():
    read = read_alert(ALERT.to_json())
    assert read == ALERT
    notifier = AlertNotifier(resend_s=30, stale_s=600)
    [first] = notifier.handle(read, T0 + 1_000)
    assert first["labels"] == {
        "alertname": "CampaignpulseInauthenticEngagement",
        "alert_id": "authenticity-cmp-1-cr-1", "team": "campaign", "service": "campaignpulse",
        "severity": "warning", "campaign_id": "cmp-1", "creator_id": "cr-1",
    }
    assert first["annotations"]["summary"] == (
        "cr-1 in campaign cmp-1: pod share 31%, bot share 12% of 420 engagements, "
        "inauthentic audience at least n/a")
    assert first["annotations"]["reasons"] == "pod_share, bot_share_jump"
    assert notifier.handle(read_alert(ALERT.to_json()), T0 + 2_000) == []  # replayed
    # its state survives restarts, so it is re-sent, never left to expire
    assert len(notifier.resend(T0 + 3_600_000)) == 1
    [last] = notifier.handle(replace(ALERT, status="resolved", version=2), T0 + 3_700_000)
    assert last["endsAt"] == "2026-09-21T15:15:00.000Z"
    assert notifier.resend(T0 + 3_800_000) == []
