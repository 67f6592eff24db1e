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
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(events, st.integers(min_value=1, max_value=17), st.sampled_from([0, 60_000, 600_000]))
def test_stream_rows_equal_naive_recount(evs, batch_size, lateness):
    lines, records = [], []
    for offset, (creator, media, campaign, kind, actor, dt, eid) in enumerate(evs):
        # A duplicate is a re-delivery of the same event, so it has the same time: ids are
        # remembered per creator and event-time hour, and an id reused in another hour is
        # another event (bounded dedup memory, see README).
        value = {"event_id": f"{creator}-{eid}-{dt // HOUR_MS}", "creator_id": creator,
                 "media_id": media,
                 "campaign_id": campaign, "kind": kind, "actor_id": actor,
                 "occurred_at": T0 + dt, "text": None}
        lines.append(json.dumps({"topic": INTERACTIONS_TOPIC, "value": value}))
        records.append(RawRecord(INTERACTIONS_TOPIC, 0, offset, creator.encode(),
                                 orjson.dumps(value)))
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

    assert agg.add(ev("a", T0), 0, 0) is Outcome.ACCEPTED
    assert agg.add(ev("a", T0), 0, 1) is Outcome.DUPLICATE
    assert agg.add(ev("b", T0 + 2 * HOUR_MS), 0, 2) is Outcome.ACCEPTED
    assert agg.add(ev("c", T0 + 2 * HOUR_MS - 600_001), 0, 3) is Outcome.LATE
    assert agg.add(ev("d", T0 + 2 * HOUR_MS - 600_000), 0, 4) is Outcome.ACCEPTED
    agg.drain()
    # Only windows the watermark has not passed stay in memory: bounded state per creator.
    # open: minutes of b and d, hours of b and d; each for the media and the rollup grain
    assert agg.open_windows() == 2 * 2 * 2


def test_version_counts_distinct_events_whatever_their_order():
    from campaignpulse.streams.contract import Interaction

    evs = [Interaction(f"e{i}", "c1", "m1", "", i % 4, f"a{i}", T0 + i * 1000) for i in range(5)]
    forward, backward = EngagementAggregator(600_000), EngagementAggregator(600_000)
    for i, e in enumerate(evs):
        forward.add(e, 0, i)
    for i, e in enumerate(reversed(evs)):
        backward.add(e, 0, i)

    def rows(agg):
        return sorted((r.window_ms, r.media_id, r.counts, r.version) for r in agg.drain())

    once = rows(forward)
    assert once == rows(backward)
    assert {r[3] for r in once} == {5}
    assert rows(forward) == []  # drained: nothing changed since
