"""The stage's rules at their thresholds, arrival-order independence, and bounded state."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from campaignpulse.streams.authenticity.kpis import by
from campaignpulse.streams.authenticity.outputs import EXCLUSIONS, Exclusion
from campaignpulse.streams.authenticity.stage import AuthenticityStage
from campaignpulse.streams.contract import (
    INTERACTIONS_TOPIC,
    KIND_INDEX,
    MEDIA_TOPIC,
    Interaction,
    Media,
)
from campaignpulse.streams.contract_authenticity import FOLLOWER_SAMPLES_TOPIC

T0 = 1_764_547_200_000  # a bucket boundary
MIN = 60_000
LIKE, COMMENT, VIEW = KIND_INDEX["like"], KIND_INDEX["comment"], KIND_INDEX["story_view"]
SPAM = "Wow amazing content! DM @growth_hub_ig to collab and grow your page"


class Feed:
    def __init__(self) -> None:
        self.events: list[tuple[Interaction, str | None]] = []
        self.media: list[Media] = []

    def post(self, media_id: str, creator: str, at: int) -> None:
        self.media.append(Media(media_id, creator, "", "FEED", at, False, None))

    def add(self, actor: str, creator: str, media: str, at: int, kind: int = LIKE,
            text: str | None = None) -> None:
        n = len(self.events)
        self.events.append((Interaction(f"e{n}", creator, media, "", kind, actor, at), text))

    def judge(self, events=None) -> dict[str, str | None]:
        """Event id -> the reason it was excluded (None: authentic), from the rows."""
        stage = AuthenticityStage(10 * MIN)
        out = [stage.process(events if events is not None else self.events, self.media)]
        out.append(stage.flush())
        self.outputs = out
        self.stage = stage
        return out

    def rows(self, events=None):
        return {(r.bucket_start_ms, r.media_id): (r.raw, r.authentic, r.excluded)
                for o in self.judge(events) for r in o.rows}


def excluded(feed: Feed, reason: Exclusion) -> int:
    return sum(r.excluded[EXCLUSIONS.index(reason)] for o in feed.judge() for r in o.rows)


def test_copy_paste_needs_three_accounts_on_three_creators():
    feed = Feed()
    for i, creator in enumerate(("c1", "c2")):
        feed.add(f"bot{i}", creator, f"m-{creator}", T0 + i * MIN, COMMENT, SPAM)
    feed.add("bot2", "c2", "m-c2", T0 + 3 * MIN, COMMENT, SPAM + " 🔥")
    assert excluded(feed, Exclusion.COPY_PASTE) == 0  # 3 accounts, 2 creators
    feed.add("bot3", "c3", "m-c3", T0 + 4 * MIN, COMMENT, SPAM.upper() + "!!")
    assert excluded(feed, Exclusion.COPY_PASTE) == 4
    cluster = feed.outputs[-1].clusters[0]
    assert set(cluster.accounts) == {"bot0", "bot1", "bot2", "bot3"}
    assert "dm @growth_hub_ig" in cluster.example


def test_copy_paste_looks_back_six_hours_not_forward():
    feed = Feed()
    feed.add("a", "c1", "m1", T0, COMMENT, SPAM)
    feed.add("b", "c2", "m2", T0 + 6 * 60 * MIN - 1, COMMENT, SPAM)  # within 6 h of a
    feed.add("c", "c3", "m3", T0 + 6 * 60 * MIN + 30 * MIN, COMMENT, SPAM)  # a is too old
    reasons = {r.media_id: r.excluded for o in feed.judge() for r in o.rows}
    copy = EXCLUSIONS.index(Exclusion.COPY_PASTE)
    assert reasons["m1"][copy] == reasons["m2"][copy] == reasons["m3"][copy] == 0
    feed.add("d", "c4", "m4", T0 + 6 * 60 * MIN + 31 * MIN, COMMENT, SPAM)
    reasons = {r.media_id: r.excluded for o in feed.judge() for r in o.rows}
    # b, c, d: three accounts on three creators within 6 h of the bucket of c and d
    assert [reasons[m][copy] for m in ("m1", "m2", "m3", "m4")] == [0, 0, 1, 1]


SENTENCES = ("my dogs would adore this sweater in winter", "where did you buy that lamp?",
             "the light in the third picture is unreal", "recipe please, my kids need this",
             "been to that beach last summer, so windy", "cannot wait for the next episode")


def test_generic_and_unrelated_comments_are_not_copy_paste():
    feed = Feed()
    for i in range(6):
        feed.add(f"fan{i}", f"c{i}", f"m{i}", T0 + i * 5 * MIN, COMMENT, "love this!")
        feed.add(f"other{i}", f"c{i}", f"m{i}", T0 + i * 5 * MIN + 1, COMMENT, SENTENCES[i])
    assert excluded(feed, Exclusion.COPY_PASTE) == 0
    assert excluded(feed, Exclusion.BURST) == 0


def test_a_burst_needs_five_accounts_within_a_minute():
    feed = Feed()
    for i in range(4):
        feed.add(f"b{i}", "c1", "m1", T0 + 9 * MIN + i * 10_000, COMMENT, "🔥🔥")
    feed.add("b0", "c1", "m1", T0 + 9 * MIN + 45_000, COMMENT, "nice pic")  # same account
    assert excluded(feed, Exclusion.BURST) == 0
    # a fifth account 59.9 s after the first, across the bucket boundary
    feed.add("b4", "c1", "m1", T0 + 9 * MIN + 59_999, COMMENT, "wow")
    assert excluded(feed, Exclusion.BURST) == 6
    # 70 s after the first: no minute holds five accounts any more
    feed.events[-1] = (Interaction("e5", "c1", "m1", "", COMMENT, "b4", T0 + 9 * MIN + 70_000),
                       "wow")
    assert excluded(feed, Exclusion.BURST) == 0


def test_rate_beyond_a_person_makes_a_bot_of_every_kind():
    feed = Feed()
    for i in range(29):
        feed.add("fast", f"c{i % 10}", f"m{i % 10}", T0 + i * MIN)
    feed.add("fast", "c0", "m0", T0 + 30 * MIN, VIEW)
    assert excluded(feed, Exclusion.BOT_ACCOUNT) == 0
    feed.add("fast", "c9", "m9", T0 + 31 * MIN)  # the 30th engagement in the hour
    rows = feed.rows()
    bot = EXCLUSIONS.index(Exclusion.BOT_ACCOUNT)
    # judged per bucket: the bucket of the 30th engagement (and its view) is excluded;
    # exclusions count engagements, the view is only missing from the authentic counts
    assert sum(x[2][bot] for x in rows.values()) == 1
    assert sum(x[0][4] for x in rows.values()) == 1
    assert sum(x[1][4] for x in rows.values()) == 0
    assert [b.actor_id for o in feed.outputs for b in o.bots] == ["fast"]
    # nine creators are a person
    nine = Feed()
    for i in range(40):
        nine.add("fan", f"c{i % 9}", f"m{i % 9}", T0 + i * MIN)
    assert excluded(nine, Exclusion.BOT_ACCOUNT) == 0


def pod_feed(members: int, posts_per_creator: int = 2) -> Feed:
    feed = Feed()
    creators = [f"c{i}" for i in range(members)]
    t = T0
    for round_ in range(posts_per_creator):
        for c in creators:
            media = f"{c}-p{round_}"
            feed.post(media, c, t)
            for other in creators:
                if other != c:
                    feed.add(other, c, media, t + 2 * MIN)
            feed.add(f"fan-of-{c}", c, media, t + 2 * MIN)  # an early fan: one creator
            feed.add("late-fan", c, media, t + 30 * MIN)  # not early
            t += 50 * MIN
    return feed


def test_a_pod_is_found_and_only_its_early_engagement_is_excluded():
    feed = pod_feed(4)
    rings = [r for o in feed.judge() for r in o.rings]
    assert rings
    final = rings[-1]
    assert final.members == ("c0", "c1", "c2", "c3")
    assert final.targets == ("c0", "c1", "c2", "c3")
    per_media = by([r for o in feed.outputs for r in o.rows], "media_id")
    # once the ring is known, the 3 other members' early likes on a post are excluded;
    # the early fan and the late fan stay authentic
    last = per_media[("c3-p1",)]
    assert (last.interactions, last.authentic_interactions) == (5, 2)
    assert last.pod_share == 3 / 5
    assert per_media[("c0-p0",)].pod_share == 0  # before the evidence: authentic


def test_two_accounts_are_no_ring():
    feed = pod_feed(2, posts_per_creator=8)
    assert not [r for o in feed.judge() for r in o.rings]


@settings(max_examples=25)
@given(st.randoms(use_true_random=False))
def test_rows_do_not_depend_on_the_arrival_order_within_the_lateness(rnd):
    feed = pod_feed(4)
    for i in range(6):
        feed.add(f"bot{i}", f"c{i % 4}", f"c{i % 4}-p0", T0 + 40 * MIN + i * 7_000, COMMENT,
                 SPAM if i % 2 else "🔥🔥")
    ordered = sorted(feed.events, key=lambda e: e[0].occurred_at_ms)
    shuffled = list(ordered)
    # shuffle inside 5-minute slices: no event arrives later than the lateness allows
    slices: dict[int, list] = {}
    for e in shuffled:
        slices.setdefault(e[0].occurred_at_ms // (5 * MIN), []).append(e)
    shuffled = []
    for key in sorted(slices):
        part = slices[key]
        rnd.shuffle(part)
        shuffled.extend(part)
    assert feed.rows(shuffled) == feed.rows(ordered)


def test_media_read_after_their_interactions_decide_nothing_differently():
    """In a backlog the engine may read the interactions long before their media (two
    topics have no order between them): the buckets wait for the media partitions."""
    feed = pod_feed(4, posts_per_creator=4)
    expected = feed.rows()
    assert any(r[2][EXCLUSIONS.index(Exclusion.POD)] for r in expected.values())
    events = sorted(feed.events, key=lambda e: e[0].occurred_at_ms)
    for media_first in (0, 5):  # none of the media read yet, or the first five only
        stage = AuthenticityStage(10 * MIN)
        stage.assigned = {0}  # as the engine assigns it: both topics' partition 0
        outs = [stage.process([], feed.media[:media_first])]
        outs += [stage.process(events[i:i + 7]) for i in range(0, len(events), 7)]
        assert not [r for o in outs for r in o.rows if r.bucket_start_ms
                    >= feed.media[max(media_first - 1, 0)].published_at_ms]
        outs += [stage.process([], feed.media[media_first:]), stage.flush()]
        got = {(r.bucket_start_ms, r.media_id): (r.raw, r.authentic, r.excluded)
               for o in outs for r in o.rows}
        assert got == expected, media_first


def test_a_partition_read_to_its_end_does_not_hold_the_watermark_one_behind_does():
    """No wall clock once the engine says where its inputs end: a partition behind holds
    the buckets back however long that takes; one read to its end does not (one that
    never delivered anything: once idle too). An engine that never says where its
    inputs end gets the idle rule (30 s and 50 batches) as the bound."""
    feed = Feed()
    feed.post("m1", "c0", T0)
    feed.add("b0", "c1", "m2", T0)  # partition 1's one interaction
    for minute in range(120):
        feed.add(f"a{minute}", "c0", "m1", T0 + minute * MIN)
    everything = [(t, p) for t in (INTERACTIONS_TOPIC, MEDIA_TOPIC, FOLLOWER_SAMPLES_TOPIC)
                  for p in (0, 1)]

    def minute_batches(stage: AuthenticityStage) -> list:
        """One interaction of partition 0 per batch, one batch per engine minute."""
        stage.assigned = {0, 1}
        outs = [stage.process(feed.events[:1], feed.media, now_ms=0)]
        outs += [stage.process([e], now_ms=i * MIN) for i, e in enumerate(feed.events[1:], 1)]
        assert stage.batches > 50
        return [r for o in outs for r in o.rows]

    silent = AuthenticityStage(10 * MIN, partition_of=lambda c: 0 if c == "c0" else 1)
    assert minute_batches(silent)  # the idle rule let partition 1 go
    stage = AuthenticityStage(10 * MIN, partition_of=lambda c: 0 if c == "c0" else 1)
    stage.inputs_at_end([tp for tp in everything if tp != (INTERACTIONS_TOPIC, 1)])
    assert not minute_batches(stage)
    stage.inputs_at_end([tp for tp in everything if tp != (FOLLOWER_SAMPLES_TOPIC, 1)])
    assert not stage.process([], now_ms=999 * MIN).rows  # partition 1's samples are behind
    stage.inputs_at_end(everything)
    rows = stage.process([], now_ms=999 * MIN).rows
    assert rows and max(r.bucket_start_ms for r in rows) < T0 + 110 * MIN


def test_late_interactions_are_counted_not_judged():
    feed = Feed()
    feed.add("a", "c1", "m1", T0 + 60 * MIN)
    feed.add("b", "c1", "m1", T0 + 49 * MIN)  # 11 minutes older than the newest
    out = feed.judge()
    assert sum(o.late for o in out) == 1
    assert sum(r.interactions for o in out for r in o.rows) == 1


def test_state_stays_bounded_over_a_long_stream():
    """Two simulated weeks of a steady stream: after the first windows have filled, the
    state no longer grows with the stream."""
    rng = random.Random(3)
    stage = AuthenticityStage(10 * MIN)
    sizes = []
    media_seq = 0
    for hour in range(14 * 24):
        start = T0 + hour * 60 * MIN
        media = []
        events = []
        for c in range(20):
            media_seq += 1
            media.append(Media(f"m{media_seq}", f"c{c}", "", "FEED", start, False, None))
            for k in range(30):
                at = start + rng.randrange(60 * MIN)
                actor = f"u{rng.randrange(10**9)}" if k % 3 else f"c{c}-fan{rng.randrange(50)}"
                text = (f"comment {rng.randrange(10**6)} about {rng.randrange(10**6)} thing"
                        if k % 15 == 0 else None)
                events.append((Interaction(f"e{hour}-{c}-{k}", f"c{c}", f"m{media_seq}", "",
                                           COMMENT if text else LIKE, actor, at), text))
        events.sort(key=lambda e: e[0].occurred_at_ms)
        stage.process(events, media)
        if hour % 24 == 23:
            sizes.append(sum(stage.state_size().values()))
    # the early engagement window is 3 days: from day 4 on nothing may grow
    assert max(sizes[4:]) <= 1.1 * min(sizes[4:]), sizes
    assert max(sizes) < 100_000, sizes
    assert stage.state_size()["published_media"] <= 2 * 20
    # held back to the newest media (published at the hour's start) less the lateness and
    # the burst minute: up to 81 minutes of events
    assert stage.state_size()["open_touches"] <= 30 * 20 * 81 / 60
