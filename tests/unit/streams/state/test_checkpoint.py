"""Checkpoint -> changelog -> restore gives the same future as an uninterrupted run.

Every operator keeps its state in the store, so these tests restore whole pipelines:
engagement windows and ids, spike state, the campaign stage (KPI windows, contests,
disclosure) and held snapshots. Crashes are modelled at the changelog: a checkpoint cut
short anywhere, and a commit that did not follow its checkpoint.
"""

from __future__ import annotations

import random
import zlib

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaignpulse.streams.contract import (
    FOLLOWERS_TOPIC,
    INTERACTIONS_TOPIC,
    KINDS,
    MEDIA_TOPIC,
    FollowerSnapshot,
    Interaction,
)
from campaignpulse.streams.pipeline import BatchResult, EngagementPipeline, RawRecord
from campaignpulse.streams.spikes.alert import Status
from campaignpulse.streams.spikes.monitor import (
    BUCKET_MS,
    FollowerSpikeMonitor,
    _encode_detector,
    export_state,
)
from campaignpulse.streams.state.store import RestoreReport
from campaignpulse.streams.state.tables import CHUNK_ITEMS
from campaignpulse.streams.windows import HOUR_MS, Outcome

T0 = 1_764_352_800_000
NOW = T0 + 30 * 86_400_000
KAFKA_MAX_MESSAGE = 1_048_588  # broker message.max.bytes default
POSITIONS_KEY = msgspec.msgpack.encode(["pos"])
CAMPAIGN = orjson.dumps({
    "campaign_id": "k1", "brand": "Acme", "name": "W", "currency": "EUR",
    "starts_at": T0, "ends_at": T0 + 2 * HOUR_MS,
    "creators": [{"creator_id": "c1", "fee": "100"}, {"creator_id": "c2", "fee": "50"}],
    "emv_rates": {"like": "0.10", "comment": "0.50"},
})
CONTEST = orjson.dumps({
    "contest_id": "ct", "creator_id": "c1", "media_id": "m1", "campaign_id": "k1",
    "starts_at": T0, "ends_at": T0 + HOUR_MS, "prize_value": "20",
    "rules": {"min_mentions": 0, "must_like": True},
})

events = st.lists(
    st.tuples(
        st.sampled_from(["c1", "c2", "c3"]),
        st.sampled_from(["m1", "m2"]),
        st.sampled_from([None, "k1"]),
        st.sampled_from(KINDS),
        st.sampled_from(["a1", "a2", "a3", "a4"]),
        st.integers(min_value=0, max_value=3 * HOUR_MS),
        st.integers(min_value=0, max_value=40),
    ),
    max_size=150,
)


def records_of(evs: list[tuple]) -> list[RawRecord]:
    out = [RawRecord("ig.contests", 0, 0, b"c1", CONTEST)]
    for offset, (creator, media, campaign, kind, actor, dt, eid) in enumerate(evs, 1):
        value = {"event_id": f"{creator}-{eid}-{dt // HOUR_MS}", "creator_id": creator,
                 "media_id": media, "campaign_id": campaign, "kind": kind,
                 "actor_id": actor, "occurred_at": T0 + dt, "text": f"@{actor} hi"}
        out.append(RawRecord(INTERACTIONS_TOPIC, 0, offset, creator.encode(),
                             orjson.dumps(value)))
        if offset % 7 == 0:  # a caption now and then: disclosure state
            media_value = {"media_id": f"{media}-{offset % 3}", "creator_id": creator,
                           "campaign_id": "k1", "media_product_type": "FEED",
                           "published_at": T0 + dt, "caption": f"caption {offset % 2}",
                           "paid_partnership": False}
            out.append(RawRecord(MEDIA_TOPIC, 0, offset, creator.encode(),
                                 orjson.dumps(media_value)))
    return out


def fresh(lateness: int) -> EngagementPipeline:
    pipeline = EngagementPipeline(lateness)
    pipeline.define_campaign(b"k1", CAMPAIGN)
    return pipeline


def upsert(rows: dict, results: list[BatchResult]) -> None:
    """What a ReplacingMergeTree keeps: the highest version per grain (and the last of
    equal versions); alerts by (id, version)."""
    for result in results:
        for row in result.engagement:
            key = ("e", row.window_ms, row.window_start_ms, row.campaign_id, row.creator_id,
                   row.media_id)
            if key not in rows or rows[key].version <= row.version:
                rows[key] = row
        for kpi in result.campaign_kpis:
            key = ("k", kpi.campaign_id, kpi.creator_id, kpi.window_seconds,
                   kpi.window_start_ms)
            if key not in rows or rows[key].version <= kpi.version:
                rows[key] = kpi
        for perf in result.contest_performance:
            key = ("c", perf.contest_id)
            if key not in rows or rows[key].version <= perf.version:
                rows[key] = perf
        for alert in result.disclosure_alerts:
            rows[("d", alert.alert_id, alert.version)] = alert


class Changelog:
    """A changelog topic in memory: (partition, key, value) in write order."""

    def __init__(self) -> None:
        self.log: list[tuple[int, bytes, bytes | None]] = []

    def write(self, pipeline: EngagementPipeline, idle_ms: int | None = None, now=NOW,
              cut: int | None = None) -> None:
        """A checkpoint; ``cut``: the crash leaves only its first ``cut`` records."""
        records = pipeline.checkpoint(now, idle_ms)
        self.log.extend(records if cut is None else records[:cut])

    def compacted(self) -> list[tuple[int, bytes, bytes | None]]:
        """What log compaction keeps: the last record of each key, in offset order; but
        not yet what a checkpoint cut short wrote (the topic's min.compaction.lag.ms
        keeps a crash's last records from compacting away the values they overwrote
        until the restart writes those back)."""
        marks = [i for i, (_, k, _) in enumerate(self.log) if k == POSITIONS_KEY]
        settled = marks[-1] + 1 if marks else 0
        last = {(p, k): i for i, (p, k, _) in enumerate(self.log[:settled])}
        return [r for i, r in enumerate(self.log[:settled])
                if last[(r[0], r[1])] == i] + self.log[settled:]

    def restore(self, lateness: int, compact: bool = False) -> tuple[EngagementPipeline,
                                                                      RestoreReport]:
        restored = fresh(lateness)
        restored.define_contest(b"c1", CONTEST)  # the definitions feed reads them all again
        log = self.compacted() if compact else self.log
        report = RestoreReport()
        for partition in sorted({p for p, _, _ in log}):
            report.merge(restored.restore(partition, [(k, v) for p, k, v in log
                                                      if p == partition]))
        assert report.refused == 0
        return restored, report


def resume(records: list[RawRecord], positions: dict[tuple[str, int], int]) -> list[RawRecord]:
    """What the engine reads after a restore: each partition from its restored position."""
    return [r for r in records if r.offset >= positions.get((r.topic, r.partition), 0)]


@settings(max_examples=120, deadline=None)
@given(events, st.integers(1, 17), st.sampled_from([0, 60_000, 600_000]), st.data())
def test_restored_state_gives_the_same_rows_as_an_uninterrupted_run(evs, size, lateness, data):
    records = records_of(evs)
    batches = [records[i:i + size] for i in range(0, len(records), size)]
    whole = fresh(lateness)
    expected: dict = {}
    upsert(expected, [whole.process(b, NOW) for b in batches])

    # the interrupted run checkpoints after every batch and crashes after `crash` batches,
    # its last checkpoint cut short after `cut` records (None: complete); the restart reads
    # the changelog, perhaps compacted, and resumes where the restored state stops
    crash = data.draw(st.integers(0, len(batches)))
    cut = data.draw(st.one_of(st.none(), st.integers(0, 40)))
    first = fresh(lateness)
    log = Changelog()
    got: dict = {}
    for i, batch in enumerate(batches[:crash]):
        upsert(got, [first.process(batch, NOW)])
        log.write(first, cut=cut if i == crash - 1 else None)
    second, report = log.restore(lateness, compact=data.draw(st.booleans()))
    upsert(got, [second.process(b, NOW) for b in
                 _batches(resume(records, report.positions), size)])
    assert got == expected
    assert second.aggregator.open_windows() == whole.aggregator.open_windows()
    assert second.campaigns.kpis.open_windows() == whole.campaigns.kpis.open_windows()
    # what the cut-short checkpoint left is written back as it was before it
    log.write(second)
    third, _ = log.restore(lateness, compact=True)
    assert third.aggregator.open_windows() == second.aggregator.open_windows()


def _batches(records: list[RawRecord], size: int) -> list[list[RawRecord]]:
    return [records[i:i + size] for i in range(0, len(records), size)]


def test_a_restart_changes_no_alert_and_no_disclosure():
    """The same media and interactions again after a restart: nothing new to send."""
    records = records_of([("c1", "m1", "k1", "like", "a1", 60_000 * i, i) for i in range(40)])
    live = fresh(600_000)
    first = live.process(records, NOW)
    assert first.disclosure_alerts  # the captions have no disclosure
    log = Changelog()
    log.write(live)
    restored, report = log.restore(600_000)
    assert report.positions == {("ig.contests", 0): 1, (INTERACTIONS_TOPIC, 0): 41,
                                (MEDIA_TOPIC, 0): 36}
    again = restored.process(records, NOW)  # the same file fed again
    assert again.disclosure_alerts == [] and again.alerts == []
    # every interaction was decided before: a duplicate, or late behind the watermark
    assert not [k for k in again.accepted if k[0] == INTERACTIONS_TOPIC]


def test_worst_case_chunks_fit_a_kafka_message():
    pipeline = EngagementPipeline(600_000)
    agg = pipeline.aggregator
    wide = "\U0001F600" * 256  # 256 characters, 4 bytes each in UTF-8: the contract's limit
    for i in range(3 * CHUNK_ITEMS + 7):
        event = Interaction(f"{i:04d}" + wide[4:], "c1", wide, wide, 0, wide, T0 + i)
        assert agg.add(event, 0) is Outcome.ACCEPTED
    records = pipeline.checkpoint(NOW)
    chunks = [r for r in records if msgspec.msgpack.decode(r[1])[0] == "events"]
    assert len(chunks) == 4
    assert max(len(r[2]) for r in chunks) < KAFKA_MAX_MESSAGE
    assert max(len(r[2]) for r in chunks) > 0.5 * KAFKA_MAX_MESSAGE  # the bound is real
    # only what changed is written: a second checkpoint with nothing new writes nothing
    assert pipeline.checkpoint(NOW) == []


def interactions(evs: list[tuple], first_offset: int) -> list[RawRecord]:
    return [RawRecord(r.topic, 0, first_offset + i, r.key, r.value)
            for i, r in enumerate(records_of(evs)[1:])]


def warm(creator: str, dt: int, first_offset: int) -> list[RawRecord]:
    """Six interactions of ``creator`` at ``dt``: its clock (the median of its last five)
    reaches ``dt``, and the sixth claims it."""
    return interactions([(creator, "m1", None, "like", "a1", dt, 10 + i) for i in range(6)],
                        first_offset)


def test_a_closed_hour_is_deleted_from_the_changelog():
    pipeline = EngagementPipeline(600_000)
    log = Changelog()
    pipeline.process(interactions([("c1", "m1", None, "like", "a1", 0, 1)], 0), NOW)
    log.write(pipeline)
    first_hour_chunk = [k for _, k, v in log.log if msgspec.msgpack.decode(k)[0] == "events"]
    pipeline.process(warm("c1", 2 * HOUR_MS, 1), NOW)
    log.write(pipeline)
    assert (0, first_hour_chunk[0], None) in log.log
    restored, _ = log.restore(600_000)
    assert restored.aggregator.open_windows() == pipeline.aggregator.open_windows() == 4


def test_idle_creator_leaves_memory_and_later_events_for_its_windows_are_late():
    pipeline = EngagementPipeline(600_000)
    log = Changelog()
    pipeline.process(interactions([("c1", "m1", None, "like", "a1", 10 * 60_000, 1)], 0), NOW)
    log.write(pipeline, idle_ms=1000, now=NOW)
    assert pipeline.aggregator.open_windows() == 4
    log.write(pipeline, idle_ms=1000, now=NOW + 1000)
    assert pipeline.aggregator.retired() == 0  # its partition has not passed its windows
    pipeline.process(warm("c2", 70 * 60_000, 1), NOW)
    log.write(pipeline, idle_ms=1000, now=NOW + 1000)
    log.write(pipeline, idle_ms=1000, now=NOW + 2000)
    assert pipeline.aggregator.open_windows() == 4 and pipeline.aggregator.retired() == 1
    restored, _ = log.restore(600_000)  # the retirement is durable too
    assert restored.aggregator.open_windows() == 4 and restored.aggregator.retired() == 1
    agg = restored.aggregator

    def ev(eid: str, ts: int) -> Interaction:
        return Interaction(eid, "c1", "m1", "", 0, "a1", T0 + ts)

    assert agg.add(ev("same-hour", 20 * 60_000), 0) is Outcome.LATE  # its hour left memory
    assert agg.add(ev("next-hour", HOUR_MS + 60_000), 0) is Outcome.ACCEPTED
    assert agg.retired() == 0


def snapshot_records(creator: str, rng: random.Random, start: int, n: int, jump_at: int):
    t, followers, out = T0, 20_000, []
    for i in range(n):
        t += rng.choice([30_000, 120_000, 300_000])
        followers += rng.randint(-3, 6) + (5_000 if i == jump_at else 0)
        value = {"creator_id": creator, "followers_count": followers, "follows_count": 500,
                 "observed_at": t}
        out.append(RawRecord(FOLLOWERS_TOPIC, 0, start + i, creator.encode(),
                             orjson.dumps(value)))
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 239))
def test_spike_state_restored_mid_history_alerts_exactly_as_uninterrupted(seed, cut):
    records = snapshot_records("cr-1", random.Random(seed), 0, 240, jump_at=200)

    def judge(pipeline, recs):
        alerts = []
        for r in recs:
            pipeline.process([r], NOW)
            alerts += pipeline.judge_snapshots(NOW, everything=True)
        return alerts

    whole = EngagementPipeline(600_000)
    expected = judge(whole, records)
    assert any(a.status is Status.RESOLVED for a in expected)
    first = EngagementPipeline(600_000)
    log = Changelog()
    got = judge(first, records[:cut])
    log.write(first)
    restored, _ = log.restore(600_000)
    got += judge(restored, records[cut:])
    assert got == expected


def test_a_held_snapshot_is_judged_after_a_restart():
    """A commit passes held snapshots: the restart must still judge them."""
    records = snapshot_records("cr-1", random.Random(4), 0, 240, jump_at=239)
    live = EngagementPipeline(600_000)
    for r in records[:-1]:
        live.process([r], NOW)
        live.judge_snapshots(NOW, everything=True)
    live.process(records[-1:], NOW)  # the jump: held, waiting for engagement
    assert len(live.gate) == 1
    log = Changelog()
    log.write(live)
    restored, _ = log.restore(600_000)
    [alert] = restored.judge_snapshots(NOW, everything=True)
    assert alert.status is Status.FIRING and alert.version == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=40), st.one_of(st.none(), st.binary(max_size=80))),
                max_size=20), st.booleans())
def test_garbage_in_the_changelog_is_refused_not_executed(records, with_positions):
    if with_positions:  # garbage that is applied, not left as an unfinished checkpoint
        records.append((msgspec.msgpack.encode(["pos"]), msgspec.msgpack.encode({"t": 1})))
    pipeline = EngagementPipeline(600_000)
    report = pipeline.restore(0, records)
    assert report.records == len(records)
    assert sum(report.keys.values()) + report.refused + report.unfinished <= len(records)


def test_engagement_ring_and_detector_survive_a_restore():
    pipeline = EngagementPipeline(600_000)
    monitor = pipeline.spikes
    monitor.observe_engagement({("c1", T0 // BUCKET_MS): 7}, {"c1": 0})
    monitor.observe_snapshot(FollowerSnapshot("c1", 1000, 10, T0), 0)
    assert monitor.detector("c1") is None  # nothing to score yet: no detector
    monitor.observe_snapshot(FollowerSnapshot("c1", 1010, 10, T0 + 600_000), 0)
    log = Changelog()
    log.write(pipeline)
    restored, _ = log.restore(600_000)
    assert restored.spikes._creators["c1"].engagement == monitor._creators["c1"].engagement
    detector = restored.spikes.detector("c1")
    assert detector is not None and detector.n == 1
    assert detector.state() == monitor.detector("c1").state()


def test_the_detector_is_written_only_when_a_snapshot_taught_it():
    pipeline = EngagementPipeline(600_000)
    monitor = pipeline.spikes
    for i in range(3):
        monitor.observe_snapshot(FollowerSnapshot("c1", 1000 + i, 10, T0 + i * 600_000), 0)
    pipeline.checkpoint(NOW)
    monitor.observe_engagement({("c1", T0 // BUCKET_MS): 7}, {"c1": 0})
    written = {msgspec.msgpack.decode(k)[0] for _, k, v in pipeline.checkpoint(NOW) if v}
    assert "spikes" in written and "detectors" not in written
    monitor.observe_snapshot(FollowerSnapshot("c1", 1003, 10, T0 + 3 * 600_000), 0)
    written = {msgspec.msgpack.decode(k)[0] for _, k, v in pipeline.checkpoint(NOW) if v}
    assert "detectors" in written


def test_a_detector_kept_inside_the_spike_state_by_the_previous_layout_is_restored():
    monitor = FollowerSpikeMonitor()
    for i in range(30):
        monitor.observe_snapshot(FollowerSnapshot("c1", 1000 + i, 10, T0 + i * 600_000), 0)
    learned = monitor.detector("c1")
    assert learned is not None
    older = msgspec.structs.replace(export_state(monitor._creators["c1"]),
                                    detector=learned.state())
    pipeline = EngagementPipeline(600_000)
    key = msgspec.msgpack.encode(["spikes", "c1"])
    pipeline.restore(0, [(key, msgspec.msgpack.encode(older)),
                         (msgspec.msgpack.encode(["pos"]), msgspec.msgpack.encode({"t": 1}))])
    restored = pipeline.spikes
    restored.observe_snapshot(FollowerSnapshot("c1", 1030, 10, T0 + 30 * 600_000), 0)
    monitor.observe_snapshot(FollowerSnapshot("c1", 1030, 10, T0 + 30 * 600_000), 0)
    assert restored.detector("c1").state() == learned.state()


def test_a_detector_saved_in_another_shape_is_learned_afresh_and_the_rest_kept():
    monitor = FollowerSpikeMonitor()
    monitor.observe_engagement({("c1", T0 // BUCKET_MS): 7}, {"c1": 0})
    for i in range(30):
        monitor.observe_snapshot(FollowerSnapshot("c1", 1000 + i, 10, T0 + i * 600_000), 0)
    saved = export_state(monitor._creators["c1"])
    older = msgspec.structs.replace(saved, detector=saved.detector[:-5])  # before an upgrade
    restored = FollowerSpikeMonitor()
    creator = restored._decode_creator(msgspec.msgpack.encode(older))
    assert creator.engagement == monitor._creators["c1"].engagement
    assert creator.snapshots == 30
    assert creator.detector is None  # learns again from the next snapshot


def test_a_changelog_of_the_previous_release_is_refused_and_deleted():
    """Keys ("c", creator) and ("e", creator, hour, n) of the release before the store:
    not restored (README: Durable state says how to rebuild), and deleted afterwards."""
    old = [(msgspec.msgpack.encode(["c", "cr-1"]), b"\x93\x00\xc0\xc0"),
           (msgspec.msgpack.encode(["e", "cr-1", T0, 0]), b"\x90")]
    pipeline = EngagementPipeline(600_000)
    report = pipeline.restore(0, old)
    assert report.unfinished == 2 and report.positions == {}
    assert pipeline.aggregator.creators() == 0
    assert [(p, k, v) for p, k, v in pipeline.checkpoint(NOW)
            if v is None] == [(0, k, None) for k, _ in old]


def test_partitions_that_move_away_are_forgotten():
    records = records_of([("c1", "m1", "k1", "like", "a1", 60_000 * i, i) for i in range(10)])
    pipeline = fresh(600_000)
    pipeline.process(records, NOW)
    pipeline.process([RawRecord(r.topic, 1, r.offset, r.key, r.value)
                      for r in records_of([("c3", "m9", None, "like", "a1", 0, 1)])[1:]], NOW)
    assert pipeline.aggregator.creators() == 2
    pipeline.revoke([0])
    assert pipeline.aggregator.creators() == 1
    assert pipeline.campaigns.kpis.open_windows() == 0
    assert set(pipeline.commit_positions()) == {(INTERACTIONS_TOPIC, 1)}
    assert {p for p, _, _ in pipeline.checkpoint(NOW)} == {1}


def test_offsets_without_records_are_checkpointed_and_committed_never_backwards():
    pipeline = EngagementPipeline(600_000)
    pipeline.process(interactions([("c1", "m1", None, "like", "a1", 0, 1)], 4), NOW)
    pipeline.checkpoint(NOW)
    # the consumer stands past a transaction marker at offset 5
    pipeline.read_to({(INTERACTIONS_TOPIC, 0): 6, (MEDIA_TOPIC, 0): 3})
    pipeline.read_to({(INTERACTIONS_TOPIC, 0): 2})  # never backwards
    assert pipeline.commit_positions() == {(INTERACTIONS_TOPIC, 0): 6, (MEDIA_TOPIC, 0): 3}
    [(_, key, value)] = pipeline.checkpoint(NOW)
    assert key == POSITIONS_KEY
    assert msgspec.msgpack.decode(value) == {INTERACTIONS_TOPIC: 6, MEDIA_TOPIC: 3}


def test_restored_windows_are_built_at_the_next_event_and_still_know_its_ids():
    live = EngagementPipeline(600_000)
    evs = [(c, "m1", "k1", "like", f"a{i}", 5 * 60_000 + i * 1000, i)
           for c in ("c1", "c2") for i in range(5)]
    live.process(interactions(evs, 0), NOW)
    log = Changelog()
    log.write(live)
    restored, report = log.restore(600_000)
    assert report.items["events"] == 10
    # nothing built yet; counted all the same
    assert restored.open_windows() == 0
    assert restored.aggregator.open_windows() == live.aggregator.open_windows() > 0
    again, _ = log.restore(600_000)
    # an event it had already: a duplicate, as in the live run; a new one: its rows
    # count what came before the restore
    same = interactions([("c1", "m1", "k1", "like", "a0", 5 * 60_000, 0)], 20)
    assert again.process(same, NOW).duplicates == live.process(same, NOW).duplicates == 1
    new = interactions([("c1", "m1", "k1", "like", "a9", 5 * 60_000 + 9000, 9)], 21)
    assert again.process(new, NOW).engagement == live.process(new, NOW).engagement
    assert again.open_windows() == live.open_windows() // 2  # c2 is not built yet


def test_a_detector_is_written_deflated_and_read_back_to_the_same_floats():
    monitor = FollowerSpikeMonitor()
    for i in range(40):
        monitor.observe_snapshot(FollowerSnapshot("c1", 1000 + 7 * i, 10, T0 + i * 600_000), 0)
    detector = monitor.detector("c1")
    assert detector is not None
    # whole, signed-zero, huge and fractional numbers alike
    detector.lo, detector.hi, detector.held = -0.0, float(2**60), 1e300
    detector.incident_reach = 3.0
    raw = _encode_detector(detector)
    assert len(raw) < len(msgspec.msgpack.encode(detector.state())) / 2
    back = monitor._decode_detector(raw)
    assert [repr(v) for v in back.state()] == [repr(v) for v in detector.state()]
    # what the release before wrote (a list of floats) reads back the same
    older = monitor._decode_detector(msgspec.msgpack.encode(detector.state()))
    assert [repr(v) for v in older.state()] == [repr(v) for v in detector.state()]
    # bytes that are no detector are refused, a bomb is not inflated past a detector
    for bad in (b"not zlib", zlib.compress(b"\0" * 10**7), zlib.compress(b"\0" * 8)):
        with pytest.raises(ValueError):
            monitor._decode_detector(msgspec.msgpack.encode(bad))
