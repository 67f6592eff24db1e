"""Done means, from outside: a held-out simulated day (seed 404, never used for tuning)
with pods, bot rings, copy-paste comments and fake followers injected, published by kcat
to Apache Kafka 4.1.1 all at once (the interactions before the media and the follower
samples), and read as a backlog by ``campaignpulse worker`` as a process that is
SIGKILLed mid-stream and restarted. The warehouse's raw and authentic engagement per
bucket, creator, media and campaign equal the independent recount of the README's rules
(``tests/recount_authenticity.py``); ring members and bot accounts are found with
precision and recall of at least 0.9 against the simulator's ground truth; each alert
version went out with one content only."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from kafka.partitioner.default import murmur2

from campaignpulse.broker import ensure_topics
from campaignpulse.producers.authenticity_events import Inauthenticity, Truth
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from campaignpulse.streams.contract_authenticity import FOLLOWER_SAMPLES_TOPIC
from campaignpulse.streams.timestamps import format_timestamp_ms, parse_timestamp_ms
from tests.integration.outside import (
    INPUTS,
    WorkerProcess,
    alert_messages,
    committed,
    kcat_publish,
    log_ends,
    wait_until,
)
from tests.recount_authenticity import recount

SEED, CREATORS, START_MS = 404, 24, 1_764_547_200_000
HOUR = 3_600_000
GROUP = "outside-authenticity"
TOPICS = (*INPUTS, FOLLOWER_SAMPLES_TOPIC)


def held_out_day() -> tuple[list[str], Truth, int]:
    """The day's lines, then one media and one like per creator two hours later: every
    partition's event time moves past the day on both topics, so every bucket of the day
    is judged."""
    sim = CampaignSimulator(seed=SEED, start_ms=START_MS, creators=CREATORS,
                            campaign_activity=True, inauthenticity=Inauthenticity())
    envelopes = list(sim.activity.definitions()) if sim.activity else []
    for _ in range(24 * 360):
        envelopes.extend(sim.step())
    lines = [e.to_json() for e in envelopes]
    last: dict[str, dict] = {}
    for e in envelopes:
        if e.topic == "ig.interactions" and isinstance(e.value, dict):
            last[e.value["creator_id"]] = e.value
    tail_ms = max(parse_timestamp_ms(v["occurred_at"]) for v in last.values()) + 2 * HOUR
    for n, (creator, value) in enumerate(sorted(last.items())):
        post = {"media_id": f"tail-post-{n}", "creator_id": creator,
                "media_product_type": "FEED", "paid_partnership": False,
                "published_at": format_timestamp_ms(tail_ms - 60_000)}
        tail = {**value, "event_id": f"tail-{n}", "kind": "like", "text": None,
                "actor_id": f"tail-fan-{n}", "occurred_at": format_timestamp_ms(tail_ms)}
        lines.append(json.dumps({"topic": "ig.media", "value": post}))
        lines.append(json.dumps({"topic": "ig.interactions", "value": tail}))
    assert sim.inauthentic is not None
    return lines, sim.inauthentic.truth, tail_ms


def partition_of(partitions: int):
    """Where kcat's murmur2 partitioner puts a creator's records (the Java client's)."""
    return lambda creator: (murmur2(creator.encode()) & 0x7FFFFFFF) % partitions


def precision_recall(found: set[str], true: set[str]) -> tuple[float, float]:
    hits = len(found & true)
    return hits / len(found) if found else 0.0, hits / len(true) if true else 0.0


def caught_up(bootstrap: str) -> bool:
    ends = log_ends(bootstrap, TOPICS)
    return committed(bootstrap, GROUP, list(ends)) == ends


def interactions_committed(bootstrap: str) -> float:
    ends = log_ends(bootstrap, ("ig.interactions",))
    done = committed(bootstrap, GROUP, list(ends))
    return sum(done.values()) / max(1, sum(ends.values()))


def test_a_held_out_day_through_kcat_and_a_killed_worker_equals_the_recount(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    ensure_topics(settings)
    lines, truth, tail_ms = held_out_day()
    # The definitions first, then the rest at once, the interactions before the media and
    # the follower samples: the worker reads engagements before their media and their
    # creators' samples, and the buckets wait for both (README: Authenticity, "What is
    # judged"), so the alerts see the audience they would have seen in order
    first_of = {"ig.campaigns": 0, "ig.contests": 0, "ig.interactions": 1}
    lines = sorted(lines, key=lambda line: first_of.get(json.loads(line)["topic"], 2))
    kcat_publish(kafka_bootstrap, [line for line in lines if first_of.get(
        json.loads(line)["topic"]) == 0])
    first = WorkerProcess(kafka_bootstrap, GROUP, tmp_path / "wh", tmp_path / "first.log",
                          max_batch_records="2000")
    kcat_publish(kafka_bootstrap, [line for line in lines if first_of.get(
        json.loads(line)["topic"]) != 0])

    # the worker killed once it has committed a part of the day, then another to the end
    wait_until("a third of the interactions committed",
               lambda: interactions_committed(kafka_bootstrap) >= 0.3, workers=(first,))
    share = interactions_committed(kafka_bootstrap)
    first.kill()
    assert share < 1.0, "the worker finished before it was killed: nothing was tested"
    second = WorkerProcess(kafka_bootstrap, GROUP, tmp_path / "wh", tmp_path / "second.log",
                           max_batch_records="2000")
    wait_until("the day committed", lambda: caught_up(kafka_bootstrap), timeout_s=600,
               workers=(second,))
    summary = second.stop()
    assert "restored" in second.stderr(), second.stderr()[-3000:]

    theirs = recount(lines, settings.allowed_lateness_ms, partition_of(settings.topic_partitions))
    tail_bucket = tail_ms // 600_000 * 600_000
    expected = {k: (v["raw"], v["authentic"], v["excluded"])
                for k, v in theirs["rows"].items() if k[0] < tail_bucket}
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        rows = warehouse.query("SELECT *, toUInt64(toUnixTimestamp(bucket_start)) * 1000 "
                               "AS start_ms FROM authenticity_buckets FINAL")
        members = {m for r in warehouse.query("SELECT members FROM authenticity_rings FINAL")
                   for m in r["members"]}
        bots = {r["actor_id"] for r in warehouse.query(
            "SELECT DISTINCT actor_id FROM authenticity_bots FINAL")}
        audience = warehouse.query(
            "SELECT creator_id, argMax(low, observed_at) AS low, argMax(high, observed_at) "
            "AS high FROM audience_quality FINAL GROUP BY creator_id")
        stored_alerts = {r["alert_id"]: r["version"] for r in warehouse.query(
            "SELECT alert_id, max(version) AS version FROM authenticity_alerts FINAL "
            "GROUP BY alert_id")}
    finally:
        warehouse.close()

    got = {(int(r["start_ms"]), r["creator_id"], r["media_id"],
            r["campaign_id"]): (
               [r[f"raw_{k}s"] for k in KINDS], [r[f"authentic_{k}s"] for k in KINDS],
               [r[f"excluded_{x}"] for x in REASONS]) for r in rows}
    assert len(got) == len(rows)
    differ = sorted(k for k in expected.keys() | got.keys() if got.get(k) != expected.get(k))
    assert not differ, (len(differ), [(k, got.get(k), expected.get(k)) for k in differ[:5]])
    # per creator and per campaign, raw and authentic engagement (likes, comments, saves,
    # shares) as the recount has them, and a good part excluded
    for level in (1, 3):
        for name in {k[level] for k in expected}:
            mine = [v for k, v in got.items() if k[level] == name]
            want = [v for k, v in expected.items() if k[level] == name]
            assert sum(sum(v[0][:4]) for v in mine) == sum(sum(v[0][:4]) for v in want)
            assert sum(sum(v[1][:4]) for v in mine) == sum(sum(v[1][:4]) for v in want)
    raw = sum(sum(v[0][:4]) for v in got.values())
    authentic = sum(sum(v[1][:4]) for v in got.values())
    ring_p, ring_r = precision_recall(members, truth.ring_members())
    bot_p, bot_r = precision_recall(bots, set(truth.bots))
    inside = sum(1 for a in audience
                 if a["low"] <= truth.fake_share[a["creator_id"]] <= a["high"])
    print(f"seed {SEED}: {raw} engagements, {raw - authentic} excluded, "
          f"{len(got)} rows, {theirs['late']} late; ring members P {ring_p:.3f} "
          f"R {ring_r:.3f} ({len(members)} found, {len(truth.ring_members())} true); bots "
          f"P {bot_p:.3f} R {bot_r:.3f} ({len(bots)} found, {len(truth.bots)} true); "
          f"audience interval holds the truth for {inside} of {len(audience)}; "
          f"killed at {share:.0%} committed; {summary.strip()[:200]}")
    assert raw > 40_000 and raw - authentic > 10_000
    assert len(truth.ring_members()) >= 10 and len(truth.bots) >= 30
    assert min(ring_p, ring_r, bot_p, bot_r) >= 0.9
    assert len(audience) == CREATORS and inside >= 0.8 * CREATORS

    # each alert version was sent with one content (a re-read after the kill sends the
    # same again), versions without gaps, the warehouse holding the last one
    sent: dict[tuple[str, int], set[str]] = defaultdict(set)
    for m in alert_messages(kafka_bootstrap):
        if m.get("alert_type") == "inauthentic_engagement":
            sent[(m["alert_id"], m["version"])].add(json.dumps(m, sort_keys=True))
    assert sent and all(len(contents) == 1 for contents in sent.values())
    versions: dict[str, set[int]] = defaultdict(set)
    for alert_id, version in sent:
        versions[alert_id].add(version)
    assert {a: max(v) for a, v in versions.items()} == stored_alerts
    assert all(v == set(range(1, max(v) + 1)) for v in versions.values())


KINDS = ("like", "comment", "save", "share", "story_view", "reel_play")
REASONS = ("bot_account", "copy_paste", "burst", "pod")
