"""What the notifier posts to Alertmanager, driven by a clock."""

from dataclasses import replace

from campaignpulse.sinks.alertmanager import AlertNotifier
from campaignpulse.streams.spikes.alert import Reason, Severity, SpikeAlert, Status

T0 = 1_790_000_000_000
ALERT = SpikeAlert(
    alert_id="cr-1-1", creator_id="cr-1", campaign_ids=("cmp-1",), status=Status.FIRING,
    severity=Severity.WARNING, score=0.9, started_at_ms=T0, updated_at_ms=T0, ended_at_ms=None,
    observed_growth=2_000, expected_growth=10.0, followers_count=22_000,
    reasons=(Reason.GROWTH_ABOVE_BASELINE,), innocent_causes=(), version=1,
)


def test_firing_is_posted_resent_and_resolved_with_ends_at() -> None:
    notifier = AlertNotifier(resend_s=30)
    [first] = notifier.handle(ALERT, T0)
    assert first["labels"]["alert_id"] == "cr-1-1"
    assert first["labels"]["severity"] == "warning"
    assert first["endsAt"] > first["startsAt"]  # RFC 3339 in UTC sorts as text
    assert notifier.handle(ALERT, T0 + 1) == []  # a replayed version is not news
    assert [p["labels"]["alert_id"] for p in notifier.resend(T0 + 30_000)] == ["cr-1-1"]
    resolved = replace(ALERT, status=Status.RESOLVED, ended_at_ms=T0 + 60_000, version=2)
    [last] = notifier.handle(resolved, T0 + 90_000)
    assert last["endsAt"].startswith("2026-09-21T") and last["endsAt"] < first["endsAt"]
    assert notifier.resend(T0 + 120_000) == []


def test_a_new_severity_ends_the_old_label_set() -> None:
    notifier = AlertNotifier(resend_s=30)
    notifier.handle(ALERT, T0)
    worse = replace(ALERT, severity=Severity.CRITICAL, version=2,
                    reasons=(*ALERT.reasons, Reason.LATER_DROP))
    ended, current = notifier.handle(worse, T0 + 5_000)
    assert ended["labels"]["severity"] == "warning"
    assert current["labels"]["severity"] == "critical"
    assert ended["endsAt"] < current["endsAt"]


def test_stale_alerts_are_left_to_expire() -> None:
    notifier = AlertNotifier(resend_s=30, stale_s=600)
    notifier.handle(ALERT, T0)
    assert notifier.resend(T0 + 500_000)
    assert notifier.resend(T0 + 700_000) == []
