"""Contest rules, reasons, provisional likes, late entries and patterns, by hand."""

from decimal import Decimal

import pytest

from campaignpulse.streams.campaigns.definition import InvalidDefinition
from campaignpulse.streams.contests.definition import parse_contest
from campaignpulse.streams.contests.performance import burst_entries
from campaignpulse.streams.contests.rules import Verdict, features, judge
from campaignpulse.streams.contests.tracker import ContestTracker
from campaignpulse.streams.contract import KIND_INDEX, Interaction

T0 = 1_795_737_600_000
S = 1000
MIN = 60_000
H = 3_600_000
RULES = {"min_mentions": 2, "required_hashtags": ["#Giveaway"], "one_entry_per_account": True,
         "must_like": True}


def contest(**overrides):
    value = {"contest_id": "ct-1", "creator_id": "cr1", "media_id": "m1", "campaign_id": "cmp-1",
             "starts_at": T0, "ends_at": T0 + H, "prize_value": "100", "rules": RULES}
    value.update(overrides)
    return parse_contest(value)


class Feed:
    def __init__(self, tracker: ContestTracker) -> None:
        self.tracker = tracker
        self.n = 0

    def __call__(self, kind, actor, ts, text=None, media="m1"):
        self.n += 1
        event = Interaction(f"e{self.n}", "cr1", media, "cmp-1", KIND_INDEX[kind], actor, ts)
        wants = self.tracker.wants_text(event)
        self.tracker.add(event, 0, features(text) if wants else None)


def example() -> tuple[ContestTracker, Feed]:
    tracker = ContestTracker(allowed_lateness_ms=10 * MIN)
    tracker.define(contest())
    feed = Feed(tracker)
    feed("like", "a1", T0 - 5 * MIN)
    feed("like", "a4", T0 - 10 * MIN)
    feed("comment", "a1", T0 - 1, "@x @y #giveaway")  # before_start
    feed("comment", "a1", T0, "@x @y #giveaway")  # valid
    feed("comment", "a1", T0 + 10 * S, "@x @y #giveaway")  # repeat_entrant
    feed("comment", "a2", T0 + 20 * S, "@x #giveaway")  # too_few_mentions
    feed("comment", "a3", T0 + 30 * S, "@x @a3 #giveaway")  # mentioning oneself: too few
    feed("comment", "a4", T0 + 40 * S, "@X  @y #GiveAway")  # valid (case, spaces)
    feed("comment", "a5", T0 + 50 * S, "@x @y #giveaways")  # missing_hashtag
    feed("comment", "cr1", T0 + 60 * S, "@x @y #giveaway")  # own_account
    feed("comment", "a6", T0 + 70 * S, "@p @q #giveaway")  # never likes: provisional
    feed("comment", "a7", T0 + 80 * S, "@p @q #giveaway")
    feed("like", "a7", T0 + 2 * MIN)  # the like after the comment: valid
    feed("comment", "a9", T0 + 90 * S, "@r @s #giveaway")
    feed("like", "a9", T0 + H)  # a like after the end does not count
    feed("comment", "a8", T0 + H, "@x @y #giveaway")  # after_end
    return tracker, feed


def test_every_reason_and_the_performance_row_before_the_end():
    tracker, _ = example()
    [row], minutes = tracker.drain()
    assert row.final is False
    assert (row.entries, row.valid_entries, row.provisional_entries) == (12, 3, 2)
    assert row.invalid_by_reason() == {
        "before_start": 1, "after_end": 1, "own_account": 1, "too_few_mentions": 2,
        "missing_hashtag": 1, "no_like": 0, "repeat_entrant": 1,
    }
    assert row.unique_entrants == 8  # a1 a2 a3 a4 a5 a6 a7 a9
    assert row.cost_per_valid_entry == Decimal("33.33")
    # a1, a1, a4 share "@x @y #giveaway" (a4 only differs in case and spaces); a6, a7 share
    assert row.identical_text_entries == 5
    assert (row.mention_magnets, row.burst_entries) == (0, 0)
    assert row.new_entrants == 6  # a1 and a4 liked before the start
    assert row.version == 16  # 12 comments + 4 likes
    assert [(m.minute_start_ms - T0, m.entries, m.valid_entries, m.provisional_entries)
            for m in minutes] == [(-MIN, 1, 0, 0), (0, 6, 2, 0), (MIN, 4, 1, 2), (H, 1, 0, 0)]


def test_provisional_entries_become_no_like_once_the_end_plus_lateness_passes():
    tracker, feed = example()
    tracker.drain()
    feed("like", "a6", T0 + H + 10 * MIN - 1, media="m-other")  # watermark 1 ms short
    assert tracker.drain() == ([], [])  # nothing changed for the contest
    feed("like", "zz", T0 + H + 10 * MIN, media="m-other")  # watermark reaches ends_at
    [row], changed = tracker.drain()
    assert row.final and row.provisional_entries == 0 and row.valid_entries == 3
    assert row.invalid_by_reason()["no_like"] == 2
    assert row.version == 17  # no new contest event: final adds one
    assert [(m.minute_start_ms - T0, m.provisional_entries, m.version) for m in changed] == [
        (-MIN, 0, 17), (0, 0, 17), (MIN, 0, 17), (H, 0, 17)]
    assert tracker.drain() == ([], [])


def test_a_late_earlier_entry_takes_the_account_slot_whatever_the_arrival_order():
    tracker = ContestTracker(allowed_lateness_ms=10 * MIN)
    tracker.define(contest(rules={**RULES, "must_like": False}))
    feed = Feed(tracker)
    feed("comment", "a1", T0 + 20 * S, "@x @y #giveaway")
    feed("comment", "a1", T0 + 10 * S, "@x @y")  # earlier, but invalid: slot stays
    feed("comment", "a1", T0 + 5 * S, "@x @y #giveaway")  # earlier and valid: takes it
    [row], _ = tracker.drain()
    assert (row.valid_entries, row.invalid_by_reason()["repeat_entrant"],
            row.invalid_by_reason()["missing_hashtag"]) == (1, 1, 1)
    judged = judge(contest(rules={**RULES, "must_like": False}),
                   tracker._contests["ct-1"].entries, {}, final=False)
    assert [v for _, v in judged] == [Verdict.VALID, Verdict.MISSING_HASHTAG,
                                      Verdict.REPEAT_ENTRANT]


def test_without_one_entry_per_account_every_entry_counts():
    rules = {"min_mentions": 0, "required_hashtags": [], "one_entry_per_account": False}
    tracker = ContestTracker(allowed_lateness_ms=0)
    tracker.define(contest(rules=rules))
    feed = Feed(tracker)
    for i in range(3):
        feed("comment", "a1", T0 + i * MIN, f"entry {i}")
    [row], _ = tracker.drain()
    assert (row.valid_entries, row.unique_entrants, row.identical_text_entries) == (3, 1, 0)


def test_bursts_and_mention_magnets():
    assert burst_entries([0, 2 * S, 4 * S, 6 * S, 8 * S]) == 5
    assert burst_entries([0, 3 * S, 6 * S, 9 * S]) == 0
    assert burst_entries([0, 3 * S, 6 * S, 9 * S, 12 * S]) == 0  # span 12 s
    assert burst_entries([0, 1, 2, 3, 4, 30 * S, 31 * S, 32 * S, 33 * S, 34 * S, 35 * S]) == 11
    tracker = ContestTracker(allowed_lateness_ms=0)
    tracker.define(contest(rules={"min_mentions": 1}))
    feed = Feed(tracker)
    for i in range(10):
        feed("comment", f"b{i}", T0 + i * MIN, f"@friend @other{i % 9}")
    [row], _ = tracker.drain()
    assert row.mention_magnets == 1  # @friend by 10 entrants; @other0 by 2 only


def test_burst_counter_counts_the_first_five_too():
    assert burst_entries([0, 1, 2, 3, 4]) == 5


def test_comment_text_is_reduced_to_what_rules_need():
    f = features("Hi @Anna.B. and @tom_1 #GiveAway #win!")
    assert f.mentions == {"anna.b", "tom_1"} and f.hashtags == {"giveaway", "win"}
    assert f.fingerprint == features("hi  @anna.b. AND @tom_1 #giveaway #WIN!").fingerprint
    assert features(None).fingerprint == 0 and features("x").fingerprint != 0


def test_bad_contest_fields_are_named():
    with pytest.raises(InvalidDefinition) as info:
        parse_contest({"contest_id": "c", "creator_id": "cr1", "media_id": "m",
                       "starts_at": T0, "ends_at": T0, "prize_value": "-1",
                       "rules": {"min_mentions": -1, "required_hashtags": ["no spaces"]}})
    text = "\n".join(info.value.errors)
    assert "prize_value" in text and "rules.min_mentions" in text
    assert "rules.required_hashtags" in text


def test_the_calendar_explains_a_jump_only_with_matching_entries():
    tracker, _ = example()
    # valid or provisional in the half hour to T0+2min: a1 a4 a7 a6 a9 = 5
    assert tracker.active("cr1", T0 + 2 * MIN, growth=10) == "ct-1"
    assert tracker.active("cr1", T0 + 2 * MIN, growth=11) is None
    assert tracker.active("cr1", T0 - MIN, growth=1) is None  # not started
    assert tracker.active("cr2", T0 + 2 * MIN, growth=1) is None


def test_a_contest_is_forgotten_a_week_after_it_is_final():
    from campaignpulse.streams.contests.tracker import RETAIN_MS

    tracker, feed = example()
    tracker.drain()
    feed("like", "z", T0 + H + 10 * MIN + RETAIN_MS, media="m-other")
    tracker.drain()
    assert tracker.knows("cr1") is False and tracker._history == {}
    assert tracker.active("cr1", T0 + 2 * MIN, growth=1) is None


def test_rows_do_not_depend_on_where_batches_end():
    def latest(drain_every: int):
        tracker = ContestTracker(allowed_lateness_ms=10 * MIN)
        tracker.define(contest())
        feed = Feed(tracker)
        rows, minutes = {}, {}
        for n, (kind, actor, at, text) in enumerate(EVENTS, start=1):
            feed(kind, actor, at, text)
            if n % drain_every == 0 or n == len(EVENTS):
                perf, mins = tracker.drain()
                rows.update((p.contest_id, p) for p in perf)
                minutes.update(((m.contest_id, m.minute_start_ms), m) for m in mins)
        return rows, minutes

    assert latest(1) == latest(3) == latest(len(EVENTS))


EVENTS = [
    ("comment", "a1", T0 + 5 * S, "@x @y #giveaway"),
    ("comment", "a2", T0 + 70 * S, "@x #giveaway"),
    ("like", "a1", T0 + 80 * S, None),
    ("comment", "a3", T0 + 2 * MIN, "@x @y #giveaway"),
    ("comment", "a1", T0 + 3 * MIN, "@x @y #giveaway"),
    ("like", "a3", T0 + 4 * MIN, None),
    ("like", "zz", T0 + H + 10 * MIN, None),  # on the contest media: final from here
]
