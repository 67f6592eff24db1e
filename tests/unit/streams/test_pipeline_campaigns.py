"""The pipeline's campaign stage on raw records: contests, KPIs, disclosure, dead letters."""

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignpulse.streams.contests.definition import parse_contest
from campaignpulse.streams.contests.rules import features, judge
from campaignpulse.streams.contests.tracker import ContestTracker
from campaignpulse.streams.contract import KIND_INDEX, Interaction, Reason
from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord
from campaignpulse.streams.timestamps import format_timestamp_ms

T0 = 1_795_737_600_000
H = 3_600_000
NOW = T0 + 10 * H
CAMPAIGN = {"campaign_id": "cmp-1", "brand": "Acme", "name": "W", "currency": "EUR",
            "starts_at": T0, "ends_at": T0 + 4 * H,
            "creators": [{"creator_id": "cr-1", "fee": "100"}],
            "emv_rates": {"like": "0.10", "comment": "0.50"}}
CONTEST = {"contest_id": "ct-1", "creator_id": "cr-1", "media_id": "m-give",
           "starts_at": T0 + H, "ends_at": T0 + 2 * H, "prize_value": "20",
           "rules": {"min_mentions": 1, "required_hashtags": ["win"]}}


class Records:
    def __init__(self) -> None:
        self.offset = 0

    def __call__(self, topic, value, key=b"cr-1"):
        self.offset += 1
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        return RawRecord(topic, 0, self.offset, key, raw)


def interaction(n, kind, at, media="m1", actor="a1", text=None, campaign="cmp-1"):
    return {"event_id": f"e{n}", "creator_id": "cr-1", "media_id": media,
            "campaign_id": campaign, "kind": kind, "actor_id": actor,
            "occurred_at": format_timestamp_ms(at), "text": text}


def test_a_batch_with_definitions_entries_and_media():
    pipeline = EngagementPipeline(allowed_lateness_ms=600_000)
    pipeline.campaigns.define_campaign(b"cmp-1", orjson.dumps(CAMPAIGN))
    rec = Records()
    batch = [
        rec("ig.contests", CONTEST),
        rec("ig.contests", {**CONTEST, "contest_id": "ct-2"}, key=b"cr-other"),  # key mismatch
        rec("ig.interactions", interaction(1, "like", T0 + H + 1)),
        rec("ig.interactions", interaction(1, "like", T0 + H + 1)),  # a duplicate
        rec("ig.interactions", interaction(2, "comment", T0 + H + 2, media="m-give",
                                           text="@pal #Win")),
        rec("ig.interactions", interaction(3, "comment", T0 + H + 3, media="m-give",
                                           actor="a2", text="no tag @pal")),
        rec("ig.media", {"media_id": "m1", "creator_id": "cr-1", "campaign_id": "cmp-1",
                         "media_product_type": "FEED", "published_at": T0, "caption": "hi",
                         "paid_partnership": False}),
    ]
    result = pipeline.process(batch, NOW)
    assert [d.reason for d in result.dead_letters] == [Reason.KEY_MISMATCH]
    assert result.duplicates == 1
    [perf] = result.contest_performance
    assert (perf.entries, perf.valid_entries, perf.invalid_by_reason()["missing_hashtag"]) == (
        2, 1, 1)
    to_date = {(r.window_seconds, r.creator_id): r for r in result.campaign_kpis}[(0, "cr-1")]
    # comments on the contest media are campaign content too: 1 like + 2 comments
    assert to_date.counts[:2] == (1, 2) and str(to_date.emv) == "1.10"
    [alert] = result.disclosure_alerts
    assert (alert.alert_id, alert.reason) == ("disclosure-m1", "missing")


entry = st.tuples(st.integers(0, 5), st.integers(-10, 130),
                  st.sampled_from(["@a #win", "@a", "#win", "@a @b #WIN", ""]))


@settings(max_examples=60)
@given(st.lists(entry, max_size=25), st.lists(st.tuples(st.integers(0, 5),
                                                        st.integers(-10, 130)), max_size=8),
       st.randoms())
def test_verdicts_do_not_depend_on_arrival_order(entries, likes, rnd):
    contest = parse_contest({**CONTEST, "rules": {**CONTEST["rules"], "must_like": True}})
    events = [Interaction(f"c{i}", "cr-1", "m-give", "", KIND_INDEX["comment"], f"u{who}",
                          T0 + H + minute * 60_000) for i, (who, minute, _) in enumerate(entries)]
    texts = {f"c{i}": text for i, (_, _, text) in enumerate(entries)}
    events += [Interaction(f"l{i}", "cr-1", "m-give", "", KIND_INDEX["like"], f"u{who}",
                           T0 + H + minute * 60_000) for i, (who, minute) in enumerate(likes)]

    def summary(order):
        tracker = ContestTracker(allowed_lateness_ms=10 * 60_000)
        tracker.define(contest)
        for e in order:
            text = features(texts[e.event_id]) if e.event_id in texts else None
            tracker.add(e, 0, text)
        [row], _ = tracker.drain()
        return row

    shuffled = list(events)
    rnd.shuffle(shuffled)
    a, b = summary(events), summary(shuffled)
    assert (a.valid_entries, a.provisional_entries, a.invalid, a.unique_entrants) == (
        b.valid_entries, b.provisional_entries, b.invalid, b.unique_entrants)
    # and every comment gets exactly one verdict
    assert a.valid_entries + a.provisional_entries + sum(a.invalid) == len(entries)
    assert len(judge(contest, [], {}, final=False)) == 0
