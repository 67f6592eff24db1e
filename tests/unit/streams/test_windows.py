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
        # the record's clock relative to the event: none, behind (an event from the
        # future), equal, ahead; carried as the published_at header or a Kafka timestamp
        st.sampled_from([None, -2 * HOUR_MS, -700_000, -1, 0, 5_000]),
        st.booleans(),
    ),
    max_size=120,
)


@settings(max_examples=150)
@given(events, st.integers(min_value=1, max_value=17), st.sampled_from([0, 60_000, 600_000]))
def test_stream_rows_equal_naive_recount(evs, batch_size, lateness):
    lines, records = [], []
    for offset, (creator, media, campaign, kind, actor, dt, eid, skew, header) in enumerate(evs):
        # A duplicate is a re-delivery of the same event, so it has the same time: ids are
        # remembered per creator and event-time hour, and an id reused in another hour is
        # another event (bounded dedup memory, see README).
        value = {"event_id": f"{creator}-{eid}-{dt // HOUR_MS}", "creator_id": creator,
                 "media_id": media,
                 "campaign_id": campaign, "kind": kind, "actor_id": actor,
                 "occurred_at": T0 + dt, "text": None}
        clock = -1 if skew is None else T0 + dt + skew
        published, timestamp = (clock, -1) if header else (-1, clock)
        lines.append(json.dumps({"topic": INTERACTIONS_TOPIC, "value": value,
                                 "published_ms": published, "timestamp_ms": timestamp}))
        records.append(RawRecord(INTERACTIONS_TOPIC, 0, offset, creator.encode(),
                                 orjson.dumps(value), timestamp, published))
    pipeline = EngagementPipeline(lateness)
    results = [pipeline.process(records[i:i + batch_size], NOW)
               for i in range(0, len(records), batch_size)]
    got = current_rows(results)
    expected = recount(lines, lateness)
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
    for i in range(4):  # the creator's clock (median of its last five) reaches b's time
        assert agg.add(ev(f"b{i}", T0 + 2 * HOUR_MS), 0) is Outcome.ACCEPTED
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


def _record(offset, eid, ts, published_ms=-1, creator="c1", timestamp_ms=-1):
    value = {"event_id": eid, "creator_id": creator, "media_id": "m1", "campaign_id": None,
             "kind": "like", "actor_id": "a1", "occurred_at": ts, "text": None}
    return RawRecord(INTERACTIONS_TOPIC, 0, offset, creator.encode(), orjson.dumps(value),
                     timestamp_ms, published_ms)


def _warm(now, published_ms=-1, timestamp_ms=-1):
    """Five ordinary interactions just before ``now``: the creator's clock starts."""
    return [_record(i, f"w{i}", now - 60_000 + i * 1000, published_ms, "c1", timestamp_ms)
            for i in range(5)]


def test_an_event_from_the_future_is_kept_counted_and_makes_nothing_late():
    now = T0 + 5 * HOUR_MS
    pipeline = EngagementPipeline(600_000)
    pipeline.process(_warm(now, timestamp_ms=now), NOW)
    # published by kcat: no header, the record's Kafka timestamp is kcat's clock
    future = pipeline.process([_record(5, "f", now + 23 * HOUR_MS, timestamp_ms=now)], NOW)
    assert future.future == {INTERACTIONS_TOPIC: 1}
    assert future.accepted.total() == 1
    assert {r.window_start_ms for r in future.engagement} >= {now + 23 * HOUR_MS}
    # real events of the same creator, up to the lateness behind the clock
    real = [_record(i, f"r{i}", now - 600_000 + i * 1000, timestamp_ms=now)
            for i in range(6, 200)]
    result = pipeline.process(real, NOW)
    assert not result.dead_letters
    assert result.accepted.total() == 194
    assert not result.future


def test_a_backlog_behind_a_far_future_event_has_no_late_event():
    """kcat publishes a 40-minute backlog now, a like 23 h ahead at its head (the issue's
    case: the worker's clock made 115 real minute rows late)."""
    now = T0 + 30 * HOUR_MS
    backlog = [_record(i + 1, f"b{i}", now - 40 * 60_000 + i * 2_000, timestamp_ms=now)
               for i in range(1200)]
    for at in (0, 3, 600):  # at the head, among the first five, in the middle
        records = list(backlog)
        records.insert(at, _record(0, "future", now + 23 * HOUR_MS, timestamp_ms=now))
        pipeline = EngagementPipeline(600_000)
        results = [pipeline.process(records[i:i + 50], now + 86_400_000)
                   for i in range(0, len(records), 50)]
        assert not [d for r in results for d in r.dead_letters], at
        assert sum(r.accepted.total() for r in results) == 1201


def test_a_backlog_among_live_creators_keeps_its_events():
    """The clock is the creator's own: a backlogged creator's future event cannot claim
    the time its live neighbours on the partition have reached."""
    now = T0 + 30 * HOUR_MS
    records, offset = [], 0
    for i in range(600):
        for creator, at in (("live", now - 60_000 + i * 100), ("back", now - 40 * 60_000
                                                                 + i * 2_000)):
            records.append(_record(offset, f"{creator}{i}", at, creator=creator,
                                   timestamp_ms=now))
            offset += 1
        if i == 300:  # halfway, the backlogged creator's like from 23 h ahead
            records.append(_record(offset, "future", now + 23 * HOUR_MS, creator="back",
                                   timestamp_ms=now))
            offset += 1
    pipeline = EngagementPipeline(600_000)
    results = [pipeline.process(records[i:i + 50], now) for i in range(0, len(records), 50)]
    assert not [d for r in results for d in r.dead_letters]
    assert sum(r.accepted.total() for r in results) == len(records)


def test_the_record_clock_decides_so_a_replay_decides_as_the_live_run():
    published = T0 + HOUR_MS
    records = [*_warm(published - 600_000, published - 600_000),
               _record(5, "f", published + 3 * HOUR_MS, published),
               _record(6, "r", published - 300_000, published + 1000),
               _record(7, "late", published - 2 * HOUR_MS, published + 2000)]
    decisions = []
    for now in (published + 2000, published + 90 * 86_400_000):  # live, then months later
        result = EngagementPipeline(600_000).process(records, now)
        decisions.append((result.accepted.total(), dict(result.future),
                          [(d.record.offset, d.reason) for d in result.dead_letters]))
    assert decisions[0] == decisions[1] == (7, {INTERACTIONS_TOPIC: 1}, [(7, "late")])


def test_without_a_header_the_kafka_timestamp_caps_and_without_either_the_partition():
    now = T0 + 5 * HOUR_MS
    for clocks in ({"timestamp_ms": now}, {}):
        pipeline = EngagementPipeline(600_000)
        pipeline.process(_warm(now, **clocks), NOW)
        pipeline.process([_record(5, "f", now + HOUR_MS, **clocks)], NOW)
        result = pipeline.process([_record(6, "r", now - 500_000, **clocks)], NOW)
        assert result.accepted.total() == 1 and not result.dead_letters, clocks
    # a producer clock ahead of everything is not believed further than its partition's
    pipeline = EngagementPipeline(600_000)
    pipeline.process(_warm(now, published_ms=now), NOW)
    pipeline.process([_record(5, "f", now + HOUR_MS, published_ms=now + 2 * HOUR_MS)], NOW)
    result = pipeline.process([_record(6, "r", now - 500_000, published_ms=now)], NOW)
    assert result.accepted.total() == 1 and not result.dead_letters


@settings(max_examples=100)
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
