"""The inauthentic_engagement alert's lifecycle: open, update, resolve, versions."""

from campaignpulse.streams.authenticity.alerts import (
    AuthenticityAlert,
    AuthenticityAlertMonitor,
    Figures,
)

H = 3_600_000


def figures(pod=0.0, bot=0.0, audience=None, n=100):
    return Figures(n, pod, bot, audience)


def test_opens_on_a_threshold_updates_on_a_move_and_resolves_when_calm():
    m = AuthenticityAlertMonitor()
    assert m.observe("k", "c", 0, figures(pod=0.05)) is None
    opened = m.observe("k", "c", H, figures(pod=0.21))
    assert opened and opened.status == "firing" and opened.version == 1
    assert set(opened.reasons) == {"pod_share", "pod_share_jump"}
    assert opened.team == "campaign" and opened.alert_id == "authenticity-k-c"
    assert m.observe("k", "c", 2 * H, figures(pod=0.25)) is None  # moved less than 0.1
    moved = m.observe("k", "c", 3 * H, figures(pod=0.25, bot=0.22))
    assert moved and moved.version == 2 and "bot_share" in moved.reasons
    assert m.observe("k", "c", 4 * H, figures(pod=0.17, bot=0.19)) is None  # not calm yet
    resolved = m.observe("k", "c", 5 * H, figures(pod=0.1, bot=0.1))
    assert resolved and resolved.status == "resolved" and resolved.version == 4 - 1
    again = m.observe("k", "c", 6 * H, figures(pod=0.3, bot=0.1))
    assert again and again.status == "firing" and again.version == 4


def test_a_jump_below_the_threshold_opens_and_holds_an_hour():
    m = AuthenticityAlertMonitor()
    m.observe("k", "c", 0, figures(bot=0.01))
    jump = m.observe("k", "c", 600_000, figures(bot=0.12))
    assert jump and jump.reasons == ("bot_share_jump",)
    assert m.observe("k", "c", 1_200_000, figures(bot=0.12)) is None  # held
    resolved = m.observe("k", "c", 600_000 + H, figures(bot=0.12))
    assert resolved and resolved.status == "resolved"


def test_small_volumes_are_not_judged_but_the_audience_is():
    m = AuthenticityAlertMonitor()
    assert m.observe("k", "c", 0, figures(pod=0.9, n=10)) is None
    audience = m.observe("k", "c", 1, figures(pod=0.9, n=10, audience=0.35))
    # a figure's first value is no jump
    assert audience and audience.reasons == ("inauthentic_audience",)


def test_json_round_trip():
    m = AuthenticityAlertMonitor()
    alert = m.observe("k", "c", 0, figures(pod=0.5, audience=0.4))
    assert alert is not None
    assert AuthenticityAlert.from_json(alert.to_json()) == alert
    assert b'"alert_type":"inauthentic_engagement"' in alert.to_json()


def test_alerts_do_not_depend_on_when_the_follower_samples_are_read():
    from tests.unit.streams.authenticity.simulated import simulated

    def versions(run):
        return [(a.alert_id, a.version, a.status, a.reasons, a.inauthentic_low)
                for o in run.outputs for a in o.alerts]

    on_time = simulated(7, 6, 24, partitions=4)
    late = simulated(7, 6, 24, partitions=4, samples_delay=20)
    assert [r for r in on_time.rows()] == [r for r in late.rows()]
    assert versions(on_time) and versions(late) == versions(on_time)
