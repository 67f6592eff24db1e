"""Spike classification and the alert lifecycle, on hand-made creator histories."""

import json
import random
from importlib.resources import files

import jsonschema

from campaignpulse.streams.contract import FollowerSnapshot, Media
from campaignpulse.streams.spikes.alert import InnocentCause, Reason, Severity, SpikeAlert, Status
from campaignpulse.streams.spikes.monitor import BUCKET_MS, FollowerSpikeMonitor, is_round_jump

MIN = 60_000


class Creator:
    def __init__(self, monitor: FollowerSpikeMonitor, seed: int = 1) -> None:
        self.monitor = monitor
        self.rng = random.Random(seed)
        self.t = 0
        self.followers = 20_000
        self.alerts: list[SpikeAlert] = []

    def snapshots(self, n: int, jump: int = 0, engagement: int = 20) -> None:
        for _ in range(n):
            self.t += self.rng.choice([30_000, 2 * MIN, 5 * MIN])
            self.monitor.observe_engagement({("cr-1", self.t // BUCKET_MS): engagement},
                                            {"cr-1": 0})
            self.followers += self.rng.randint(-3, 6) + jump
            snap = FollowerSnapshot("cr-1", self.followers, 500, self.t)
            alert = self.monitor.observe_snapshot(snap)
            if alert is not None:
                self.alerts.append(alert)


def test_a_round_bought_jump_without_engagement_is_critical_then_resolves() -> None:
    creator = Creator(FollowerSpikeMonitor())
    creator.snapshots(200)
    assert creator.alerts == []
    creator.snapshots(1, jump=5_000)
    opened = creator.alerts[-1]
    assert opened.status is Status.FIRING
    assert opened.severity is Severity.CRITICAL
    assert {Reason.GROWTH_ABOVE_BASELINE, Reason.GROWTH_WITHOUT_ENGAGEMENT,
            Reason.ROUND_NUMBER_JUMP} <= set(opened.reasons)
    assert opened.score >= 0.5
    assert opened.observed_growth >= 4_990
    creator.snapshots(5)
    resolved = creator.alerts[-1]
    assert resolved.alert_id == opened.alert_id
    assert resolved.status is Status.RESOLVED
    assert resolved.ended_at_ms > opened.started_at_ms
    assert resolved.version > opened.version


def test_a_purge_after_the_spike_is_added_as_evidence() -> None:
    creator = Creator(FollowerSpikeMonitor())
    creator.snapshots(200)
    creator.snapshots(1, jump=3_000)
    creator.snapshots(4)
    creator.snapshots(1, jump=-1_000)
    last = creator.alerts[-1]
    assert Reason.LATER_DROP in last.reasons
    assert len({a.alert_id for a in creator.alerts}) == 1


def test_a_viral_jump_is_not_critical_and_says_why() -> None:
    creator = Creator(FollowerSpikeMonitor())
    creator.snapshots(200)
    creator.snapshots(1, jump=1_300, engagement=2_000)
    opened = creator.alerts[-1]
    assert InnocentCause.VIRAL_POST in opened.innocent_causes
    assert opened.severity is not Severity.CRITICAL


def test_an_announced_giveaway_lowers_the_severity() -> None:
    monitor = FollowerSpikeMonitor()
    creator = Creator(monitor)
    creator.snapshots(200)
    monitor.observe_media(
        Media("m1", "cr-1", "cmp-1", "FEED", creator.t, False, "win! #giveaway"), 0)
    creator.snapshots(1, jump=5_000)
    opened = creator.alerts[-1]
    assert InnocentCause.CONTEST_ACTIVATION in opened.innocent_causes
    assert opened.severity is Severity.WARNING
    assert opened.campaign_ids == ("cmp-1",)


def test_ordinary_growth_sampled_irregularly_raises_nothing() -> None:
    for seed in range(5):
        creator = Creator(FollowerSpikeMonitor(), seed=seed)
        creator.snapshots(1_000)
        assert creator.alerts == []


def test_replay_gives_the_same_alerts() -> None:
    def history() -> list[SpikeAlert]:
        creator = Creator(FollowerSpikeMonitor(), seed=9)
        creator.snapshots(150)
        creator.snapshots(2, jump=2_000)
        creator.snapshots(5)
        return creator.alerts

    first = history()
    assert first and first == history()
    assert SpikeAlert.from_json(first[0].to_json()) == first[0]


def test_round_numbers() -> None:
    assert is_round_jump(5_000) and is_round_jump(2_010) and is_round_jump(10_080)
    assert is_round_jump(995)  # a package, less the odd unfollow
    assert not is_round_jump(950) and not is_round_jump(1_500) and not is_round_jump(300)


def test_a_package_bought_during_a_viral_spike_is_added_as_evidence() -> None:
    creator = Creator(FollowerSpikeMonitor())
    creator.snapshots(200)
    creator.snapshots(1, jump=1_300, engagement=2_000)
    viral = creator.alerts[-1]
    assert Reason.ROUND_NUMBER_JUMP not in viral.reasons
    creator.snapshots(1, jump=5_000, engagement=2_000)
    now = creator.alerts[-1]
    assert now.alert_id == viral.alert_id
    assert Reason.ROUND_NUMBER_JUMP in now.reasons
    assert now.observed_growth >= 6_290
    assert InnocentCause.VIRAL_POST in now.innocent_causes  # still said, and still lowers
    assert now.severity is Severity.WARNING


def test_alert_messages_follow_their_json_schema() -> None:
    schema = json.loads(files("streams").joinpath("schemas/campaignpulse.alerts.json").read_text())
    monitor = FollowerSpikeMonitor()
    creator = Creator(monitor)
    creator.snapshots(200)
    monitor.observe_media(Media("m1", "cr-1", "cmp-1", "FEED", creator.t, False, "#giveaway"), 0)
    creator.snapshots(1, jump=5_000)
    creator.snapshots(4)
    creator.snapshots(1, jump=-2_000)
    assert {a.status for a in creator.alerts} == {Status.FIRING, Status.RESOLVED}
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for alert in creator.alerts:
        jsonschema.validate(json.loads(alert.to_json()), schema, format_checker=checker)
    for enum, values in ((Reason, "reasons"), (InnocentCause, "innocent_causes")):
        assert set(schema["properties"][values]["items"]["enum"]) == {m.value for m in enum}


def test_a_follow_for_follow_burst_is_a_reason() -> None:
    monitor = FollowerSpikeMonitor()
    creator = Creator(monitor)
    creator.snapshots(200)
    creator.t += MIN
    snap = FollowerSnapshot("cr-1", creator.followers + 3_300, 1_400, creator.t)
    alert = monitor.observe_snapshot(snap)
    assert alert is not None
    assert Reason.FOLLOWS_RATIO_CHANGE in alert.reasons
    assert Reason.ROUND_NUMBER_JUMP not in alert.reasons
