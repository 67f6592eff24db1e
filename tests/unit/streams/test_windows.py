import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignpulse.streams.contract import INTERACTIONS_TOPIC, KINDS
from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord
from campaignpulse.streams.windows import HOUR_MS, MINUTE_MS, EngagementAggregator, Outcome
from tests.recount import COLUMNS, recount

T0 = 1_764_352_800_000  # 2025-11-28T18:00:00Z
NOW = T0 + 30 * 86_400_000


def current_rows(batches):
    """Last version of every grain, as the ReplacingMergeTree would keep it."""
    rows = {}
    for result in batches:
        for row in result.engagement:
            key = (row.window_ms, row.window_start_ms // 1000, row.campaign_id,
                   row.creator_id, row.media_id)
            if key not in rows or rows[key].version <= row.version:
                rows[key] = row
    return rows


events = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3"]),
        st.sampled_from(["m1", "m2"]),
        st.sampled_from([None, "k1"]),
        st.sampled_from(KINDS),
        st.sampled_from(["a1", "a2", "a3", "a4"]),
        st.integers(min_value=0, max_value=3 * HOUR_MS),
        st.integers(min_value=0, max_value=40),  # event id: small range makes duplicates
        # the record's clock relative to the event: none (the worker's), behind (an event
        # from the future), equal, ahead
        st.sampled_from([None, -2 * HOUR_MS, -700_000, -1, 0, 5_000]),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(events, st.integers(min_value=1, max_value=17), st.sampled_from([0, 60_000, 600_000]))
def test_stream_rows_equal_naive_recount(evs, batch_size, lateness):
    lines, records = [], []
    for offset, (creator, media, campaign, kind, actor, dt, eid, skew) in enumerate(evs):
        # A duplicate is a re-delivery of the same event, so it has the same time: ids are
        # remembered per creator and event-time hour, and an id reused in another hour is
        # another event (bounded dedup memory, see README).
        value = {"event_id": f"{creator}-{eid}-{dt // HOUR_MS}", "creator_id": creator,
                 "media_id": media,
                 "campaign_id": campaign, "kind": kind, "actor_id": actor,
                 "occurred_at": T0 + dt, "text": None}
        published = -1 if skew is None else T0 + dt + skew
        lines.append(json.dumps({"topic": INTERACTIONS_TOPIC, "value": value,
                                 "published_ms": published}))
        records.append(RawRecord(INTERACTIONS_TOPIC, 0, offset, creator.encode(),
                                 orjson.dumps(value), published_ms=published))
    pipeline = EngagementPipeline(lateness)
    results = [pipeline.process(records[i:i + batch_size], NOW)
               for i in range(0, len(records), batch_size)]
    got = current_rows(results)
    expected = recount(lines, lateness, now_ms=NOW)
    for table, size in (("engagement_minute", MINUTE_MS), ("engagement_hour", HOUR_MS)):
        mine = {k[1:]: r for k, r in got.items() if k[0] == size}
        assert set(mine) == set(expected[table])
        for key, row in mine.items():
            want = expected[table][key]
            assert dict(zip(COLUMNS, row.counts, strict=True)) == {c: want[c] for c in COLUMNS}
            assert row.unique_actors == want["unique_actors"]
            assert row.reach == want["reach"]
    late = sum(1 for r in results for d in r.dead_letters if d.reason == "late")
    dups = sum(r.duplicates for r in results)
    counted = sum(r.accepted.total() for r in results)
    assert late + dups + counted == len(evs)


def test_late_event_is_refused_and_its_window_is_forgotten():
    agg = EngagementAggregator(allowed_lateness_ms=600_000)
    from campaignpulse.streams.contract import Interaction

    def ev(eid, ts):
        return Interaction(eid, "c1", "m1", "", 0, "a1", ts)

    assert agg.add(ev("a", T0), 0) is Outcome.ACCEPTED
    assert agg.add(ev("a", T0), 0) is Outcome.DUPLICATE
    assert agg.add(ev("b", T0 + 2 * HOUR_MS), 0) is Outcome.ACCEPTED
    assert agg.add(ev("c", T0 + 2 * HOUR_MS - 600_001), 0) is Outcome.LATE
    assert agg.add(ev("d", T0 + 2 * HOUR_MS - 600_000), 0) is Outcome.ACCEPTED
    agg.drain()
    # Only windows the watermark has not passed stay in memory: bounded state per creator.
    # open: minutes of b and d, hours of b and d; each for the media and the rollup grain
    assert agg.open_windows() == 2 * 2 * 2


def test_version_counts_distinct_events_whatever_their_order():
    from campaignpulse.streams.contract import Interaction

    evs = [Interaction(f"e{i}", "c1", "m1", "", i % 4, f"a{i}", T0 + i * 1000) for i in range(5)]
    forward, backward = EngagementAggregator(600_000), EngagementAggregator(600_000)
    for e in evs:
        forward.add(e, 0)
    for e in reversed(evs):
        backward.add(e, 0)

    def rows(agg):
        return sorted((r.window_ms, r.media_id, r.counts, r.version) for r in agg.drain())

    once = rows(forward)
    assert once == rows(backward)
    assert {r[3] for r in once} == {5}
    assert rows(forward) == []  # drained: nothing changed since


def _record(offset, eid, ts, published_ms=-1, creator="c1"):
    value = {"event_id": eid, "creator_id": creator, "media_id": "m1", "campaign_id": None,
             "kind": "like", "actor_id": "a1", "occurred_at": ts, "text": None}
    return RawRecord(INTERACTIONS_TOPIC, 0, offset, creator.encode(), orjson.dumps(value),
                     published_ms=published_ms)


def test_an_event_from_the_future_is_kept_counted_and_makes_nothing_late():
    now = T0 + 5 * HOUR_MS
    pipeline = EngagementPipeline(600_000)
    future = pipeline.process([_record(0, "f", now + 23 * HOUR_MS)], now)
    assert future.future == {INTERACTIONS_TOPIC: 1}
    assert future.accepted.total() == 1
    assert {r.window_start_ms for r in future.engagement} >= {now + 23 * HOUR_MS}
    # real events of the same creator, up to the lateness behind the clock
    real = [_record(i, f"r{i}", now - 600_000 + i * 1000) for i in range(1, 200)]
    result = pipeline.process(real, now)
    assert not result.dead_letters
    assert result.accepted.total() == 199
    assert not result.future


def test_the_published_clock_decides_so_a_replay_decides_as_the_live_run():
    published = T0 + HOUR_MS
    records = [_record(0, "f", published + 3 * HOUR_MS, published),
               _record(1, "r", published - 300_000, published + 1000),
               _record(2, "late", published - 2 * HOUR_MS, published + 2000)]
    decisions = []
    for now in (published + 2000, published + 90 * 86_400_000):  # live, then months later
        result = EngagementPipeline(600_000).process(records, now)
        decisions.append((result.accepted.total(), dict(result.future),
                          [(d.record.offset, d.reason) for d in result.dead_letters]))
    assert decisions[0] == decisions[1] == (2, {INTERACTIONS_TOPIC: 1}, [(2, "late")])


def test_without_a_published_clock_the_worker_clock_caps_the_watermark():
    now = T0 + 5 * HOUR_MS
    pipeline = EngagementPipeline(600_000)
    pipeline.process([_record(0, "f", now + HOUR_MS)], now)
    result = pipeline.process([_record(1, "r", now - 500_000)], now)
    assert result.accepted.total() == 1 and not result.dead_letters
    # a producer clock ahead of the worker's is not believed further than the worker's
    pipeline = EngagementPipeline(600_000)
    pipeline.process([_record(0, "f", now + HOUR_MS, published_ms=now + 2 * HOUR_MS)], now)
    result = pipeline.process([_record(1, "r", now - 500_000)], now)
    assert result.accepted.total() == 1 and not result.dead_letters


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2 * HOUR_MS), st.integers(-HOUR_MS, 23 * HOUR_MS)),
                min_size=1, max_size=60))
def test_the_watermark_never_passes_the_clock(steps):
    """Whatever the events claim, the watermark stays at or behind the newest clock."""
    from campaignpulse.streams.contract import Interaction

    agg = EngagementAggregator(600_000)
    newest_clock = -1
    for i, (clock_dt, ahead) in enumerate(steps):
        clock = T0 + clock_dt
        newest_clock = max(newest_clock, clock)
        agg.add(Interaction(f"e{i}", "c1", "m1", "", 0, "a1", clock + ahead), 0, clock)
        agg.drain()
    # an event at the newest clock minus the lateness is never late
    probe = Interaction("probe", "c1", "m1", "", 0, "a1", newest_clock - 600_000)
    assert agg.add(probe, 0, newest_clock) is not Outcome.LATE
