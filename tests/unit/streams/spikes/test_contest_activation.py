"""Contests from ig.contests explain giveaway follower jumps; bought ones stay critical."""

import random

from campaignpulse.streams.contests.definition import parse_contest
from campaignpulse.streams.contests.rules import features
from campaignpulse.streams.contests.tracker import ContestCalendarWithFallback, ContestTracker
from campaignpulse.streams.contract import KIND_INDEX, FollowerSnapshot, Interaction
from campaignpulse.streams.spikes.alert import InnocentCause, Severity
from campaignpulse.streams.spikes.monitor import BUCKET_MS, FollowerSpikeMonitor

MIN = 60_000
T0 = 1_795_737_600_000


class Creator:
    def __init__(self) -> None:
        self.tracker = ContestTracker(allowed_lateness_ms=10 * MIN)
        self.monitor = FollowerSpikeMonitor()
        self.monitor.contests = ContestCalendarWithFallback(self.tracker, self.monitor.signals)
        self.rng = random.Random(3)
        self.t = T0
        self.followers = 20_000
        self.n = 0

    def snapshot(self, jump: int = 0, entries: int = 0):
        self.t += 2 * MIN
        for i in range(entries):  # giveaway comments on the contest media, just before
            self.n += 1
            at = self.t - i * 1000
            event = Interaction(f"e{self.n}", "cr-1", "m-give", "", KIND_INDEX["comment"],
                                f"fan{self.n}", at)
            self.tracker.add(event, 0, features("@a @b #giveaway"))
        self.monitor.observe_engagement({("cr-1", self.t // BUCKET_MS): 20 + entries},
                                        {"cr-1": 0})
        self.followers += self.rng.randint(-3, 6) + jump
        return self.monitor.observe_snapshot(FollowerSnapshot("cr-1", self.followers, 500, self.t))

    def warm_up(self) -> None:
        for _ in range(200):
            assert self.snapshot() is None

    def start_contest(self) -> None:
        self.tracker.define(parse_contest({
            "contest_id": "ct-1", "creator_id": "cr-1", "media_id": "m-give",
            "starts_at": self.t - 60 * MIN, "ends_at": self.t + 24 * 60 * MIN, "prize_value": "250",
            "rules": {"min_mentions": 2, "required_hashtags": ["giveaway"]},
        }))


def test_a_giveaway_jump_with_entries_is_a_contest_activation_and_does_not_page():
    creator = Creator()
    creator.warm_up()
    creator.start_contest()
    alert = creator.snapshot(jump=700, entries=400)
    assert alert is not None
    assert InnocentCause.CONTEST_ACTIVATION in alert.innocent_causes
    assert alert.severity is not Severity.CRITICAL


def test_a_bought_package_during_the_same_contest_is_still_critical():
    creator = Creator()
    creator.warm_up()
    creator.start_contest()
    creator.snapshot(entries=5)  # a trickle of entries, long before the jump
    for _ in range(20):
        creator.snapshot()
    alert = creator.snapshot(jump=5_000)
    assert alert is not None
    assert InnocentCause.CONTEST_ACTIVATION not in alert.innocent_causes
    assert alert.severity is Severity.CRITICAL


def test_without_a_known_contest_the_caption_fallback_still_works():
    creator = Creator()
    assert creator.monitor.contests.active("cr-1", T0) is None
    creator.monitor.signals.observe_caption("cr-1", "m9", "Big #giveaway!", T0, 0)
    assert creator.monitor.contests.active("cr-1", T0 + MIN) == "m9"
