"""Bad input through real Apache Kafka never stops the worker and is never lost.

Each scenario publishes to freshly created topics, runs the worker until it has consumed
everything, compares the warehouse (chdb) with the independent recount and counts what
reached the dead-letter topic with a plain consumer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import TopicPartition
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from campaignpulse.broker import ALL_TOPICS
from campaignpulse.producers.publisher import PUBLISHED_AT_HEADER
from campaignpulse.producers.simulator import CampaignSimulator, Faults
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse
from campaignpulse.streams.contract import (
    DLQ_TOPIC,
    FOLLOWERS_TOPIC,
    INPUT_TOPICS,
    INTERACTIONS_TOPIC,
    MEDIA_TOPIC,
)
from campaignpulse.streams.timestamps import parse_timestamp_ms
from campaignpulse.worker.loop import Worker
from tests.integration.expectations import assert_warehouse_matches
from tests.recount import recount

HOUR = 3_600_000
PARTITIONS = 4


def fresh_topics(bootstrap: str, dlq_config: dict[str, str] | None = None) -> None:
    """Delete and recreate every topic, so a scenario sees only what it publishes."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bad-input-admin")
    try:
        present = [t for t in admin.list_topics() if t in ALL_TOPICS]
        if present:
            admin.delete_topics(present)
        deadline = time.monotonic() + 60
        wanted = list(ALL_TOPICS)
        while wanted:
            topic = wanted[0]
            config = {"retention.ms": "86400000"}
            if topic == DLQ_TOPIC and dlq_config:
                config.update(dlq_config)
            try:
                admin.create_topics([NewTopic(topic, PARTITIONS, 1, topic_configs=config)])
                wanted.pop(0)
            except TopicAlreadyExistsError:  # still being deleted
                assert time.monotonic() < deadline, f"{topic} is not deleted"
                time.sleep(0.2)
    finally:
        admin.close()


@pytest.fixture(scope="module", autouse=True)
def leave_no_topics(kafka_bootstrap: str) -> Iterator[None]:
    """Other modules of the session expect topics without this module's records."""
    yield
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="bad-input-admin")
    try:
        admin.delete_topics([t for t in admin.list_topics() if t in ALL_TOPICS])
    except UnknownTopicOrPartitionError:
        pass
    finally:
        admin.close()


class Sender:
    """kafka-python, batching like our producers; keys and headers as given."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024,
            max_request_size=2 * 1024 * 1024, max_in_flight_requests_per_connection=1,
        )
        self.lines: list[str] = []  # what was published, in the recount's JSONL form

    def value(self, topic: str, value: dict[str, Any], published_ms: int | None = None) -> None:
        """Without ``published_ms`` the record has no header, as a foreign producer's; its
        Kafka timestamp is the send time either way (kafka-python's CreateTime)."""
        headers = None
        if published_ms is not None:
            headers = [(PUBLISHED_AT_HEADER, str(published_ms).encode())]
        sent_ms = int(time.time() * 1000)
        self.producer.send(topic, key=str(value["creator_id"]).encode(),
                           value=json.dumps(value).encode(), headers=headers,
                           timestamp_ms=sent_ms)
        self.lines.append(json.dumps({"topic": topic, "value": value,
                                      "published_ms": published_ms,
                                      "timestamp_ms": sent_ms}))

    def raw(self, topic: str, value: bytes, key: bytes | None = None) -> Any:
        return self.producer.send(topic, key=key, value=value)

    def envelopes(self, lines: list[str]) -> None:
        for line in lines:
            envelope = json.loads(line)
            if isinstance(envelope["value"], dict):
                self.value(envelope["topic"], envelope["value"])
            else:
                self.raw(envelope["topic"], envelope["value"].encode())

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()


def log_ends(bootstrap: str, topics: tuple[str, ...] = INPUT_TOPICS) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        from kafka import TopicPartition as KTP

        ends = consumer.end_offsets([KTP(tp.topic, tp.partition) for tp in tps])
        return {TopicPartition(k.topic, k.partition): v for k, v in ends.items()}
    finally:
        consumer.close()


def read_dlq(bootstrap: str) -> list[Any]:
    """Every record of the dead-letter topic, read up to its end."""
    from kafka import TopicPartition as KTP

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             max_partition_fetch_bytes=4 * 1024 * 1024)
    try:
        tps = [KTP(DLQ_TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out: list[Any] = []
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "dead-letter topic not read to its end"
            for records in consumer.poll(timeout_ms=500, max_records=50_000).values():
                out.extend(records)
        return out
    finally:
        consumer.close()


def reasons(letters: list[Any]) -> Counter[str]:
    return Counter(dict(m.headers)["campaignpulse.reason"].decode() for m in letters)


def run_worker(bootstrap: str, warehouse: EmbeddedWarehouse, group: str) -> Worker:
    settings = Settings(kafka_bootstrap=bootstrap, group_id=group, flush_interval_s=0.3,
                        metrics_port=0)
    worker = Worker(settings, warehouse, client_id=group)
    worker.until = log_ends(bootstrap)
    asyncio.run(asyncio.wait_for(worker.run(asyncio.Event()), timeout=240))
    return worker


def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    from kafka import TopicPartition as KTP

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False)
    try:
        return {TopicPartition(t, p): consumer.committed(KTP(t, p)) or 0
                for t in INPUT_TOPICS for p in range(PARTITIONS)}
    finally:
        consumer.close()


def simulated(seed: int, events: int, faults: Faults | None = None) -> list[str]:
    simulator = CampaignSimulator(seed=seed, start_ms=parse_timestamp_ms("2026-11-27T00:00:00Z"),
                                  creators=30, faults=faults or Faults())
    lines = []
    for envelope in simulator.events():
        lines.append(envelope.to_json())
        if len(lines) == events:
            return lines
    raise AssertionError("unreachable")


def metric(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def matches_recount(warehouse: EmbeddedWarehouse, lines: list[str], tmp_path: Path) -> int:
    path = tmp_path / "published.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return assert_warehouse_matches(warehouse, path)


def dead_letter_rows(warehouse: EmbeddedWarehouse) -> list[dict[str, Any]]:
    return warehouse.query("SELECT * FROM dead_letters FINAL ORDER BY source_topic, "
                           "source_partition, source_offset")


def test_the_same_file_twice_counts_once_and_delivers_every_late_letter(
    kafka_bootstrap: str, warehouse: EmbeddedWarehouse, tmp_path: Path
) -> None:
    fresh_topics(kafka_bootstrap)
    lines = simulated(seed=11, events=15_000, faults=Faults(duplicate=0.01, late=0.003))
    sender = Sender(kafka_bootstrap)
    sender.envelopes(lines)
    sender.envelopes(lines)
    sender.close()

    worker = run_worker(kafka_bootstrap, warehouse, "twice")
    assert matches_recount(warehouse, lines + lines, tmp_path) > 1000
    letters = reasons(read_dlq(kafka_bootstrap))
    assert letters["late"] > 10_000  # most of the second copy
    assert letters == Counter(worker.stats.dead_letters)  # every letter acknowledged
    assert dead_letter_rows(warehouse) == []
    ends = log_ends(kafka_bootstrap)
    assert committed(kafka_bootstrap, "twice") != {tp: 0 for tp in ends}


def test_a_junk_flood_between_valid_data_is_dead_lettered_completely(
    kafka_bootstrap: str, warehouse: EmbeddedWarehouse, tmp_path: Path
) -> None:
    fresh_topics(kafka_bootstrap)
    lines = simulated(seed=12, events=16_000)
    before, after = lines[:8_000], lines[8_000:]
    sender = Sender(kafka_bootstrap)
    sender.envelopes(before)
    for i in range(100_000):
        sender.raw(INTERACTIONS_TOPIC, b"x", key=f"junk-{i % 97}".encode())
    sender.envelopes(after)
    sender.close()

    started = time.monotonic()
    worker = run_worker(kafka_bootstrap, warehouse, "flood")
    seconds = time.monotonic() - started
    matches_recount(warehouse, before + after, tmp_path)
    letters = read_dlq(kafka_bootstrap)
    assert reasons(letters)["malformed_json"] == 100_000
    assert worker.stats.dead_letters["malformed_json"] == 100_000
    print(f"\n{worker.stats.events} events and 100000 junk records in {seconds:.1f} s")


def test_an_oversized_record_becomes_a_truncated_letter_and_the_worker_goes_on(
    kafka_bootstrap: str, warehouse: EmbeddedWarehouse, tmp_path: Path
) -> None:
    fresh_topics(kafka_bootstrap)
    lines = simulated(seed=14, events=6_000)
    junk = bytes(range(256)) * 4090 + b"j" * 1_360  # 1,048,400 bytes
    bad_time = {"event_id": "e-huge", "creator_id": "cr-00001", "media_id": "m",
                "campaign_id": None, "kind": "like", "actor_id": "a",
                "occurred_at": "2026-11-27T00:00:00Z" + "9" * 600_000, "text": None}
    sender = Sender(kafka_bootstrap)
    sender.envelopes(lines[:3_000])
    sender.producer.flush()  # a batch of its own: alone, the broker's default limit takes it
    sender.raw(MEDIA_TOPIC, junk, key=b"cr-00001").get(timeout=30)
    sender.raw(INTERACTIONS_TOPIC, json.dumps(bad_time).encode(), key=b"cr-00001").get(30)
    sender.envelopes(lines[3_000:])
    sender.close()

    worker = run_worker(kafka_bootstrap, warehouse, "oversized")
    matches_recount(warehouse, lines, tmp_path)
    letters = read_dlq(kafka_bootstrap)
    assert len(letters) == 2 == sum(worker.stats.dead_letters.values())
    by_topic = {dict(m.headers)["campaignpulse.source"].decode().split("/")[0]: m
                for m in letters}
    huge = dict(by_topic[MEDIA_TOPIC].headers)
    assert huge["campaignpulse.length"] == b"1048400"
    assert huge["campaignpulse.sha256"] == hashlib.sha256(junk).hexdigest().encode()
    assert huge["campaignpulse.truncated"] == b"true"
    assert by_topic[MEDIA_TOPIC].value == junk[: len(by_topic[MEDIA_TOPIC].value)]
    assert len(by_topic[MEDIA_TOPIC].value) == 256 * 1024
    detail = dict(by_topic[INTERACTIONS_TOPIC].headers)["campaignpulse.detail"]
    assert len(detail) <= 1024
    assert dead_letter_rows(warehouse) == []


def test_an_event_from_the_future_makes_no_real_event_late(
    kafka_bootstrap: str, warehouse: EmbeddedWarehouse, tmp_path: Path
) -> None:
    fresh_topics(kafka_bootstrap)
    now = int(time.time() * 1000)
    sender = Sender(kafka_bootstrap)

    def like(creator: str, i: int, ts: int, published: int | None) -> None:
        sender.value(INTERACTIONS_TOPIC, {
            "event_id": f"{creator}-{i}", "creator_id": creator, "media_id": f"{creator}-m",
            "campaign_id": "cmp", "kind": "like", "actor_id": f"a{i % 50}",
            "occurred_at": ts, "text": None}, published)

    # one creator published by a producer that stamps its clock, one by a foreign one
    for creator, published in (("cr-stamped", now), ("cr-foreign", None)):
        like(creator, 0, now + 23 * HOUR, published)  # inside the allowed day of skew
        for i in range(1, 189):
            like(creator, i, now - 300_000 + i * 1000, published)
    like("cr-stamped", 999, now - 2 * HOUR, now)  # really late: still refused
    sender.close()

    future_before = metric("campaignpulse_future_events_total", topic=INTERACTIONS_TOPIC)
    worker = run_worker(kafka_bootstrap, warehouse, "future")
    expected = recount(sender.lines)
    assert sum(len(rows) for rows in expected.values()) > 0
    matches_recount(warehouse, sender.lines, tmp_path)
    assert reasons(read_dlq(kafka_bootstrap)) == Counter({"late": 1})
    assert worker.stats.events == 2 * 189
    future = metric("campaignpulse_future_events_total", topic=INTERACTIONS_TOPIC)
    assert future - future_before == 2
    # the events from the future are kept in their own windows
    hours = warehouse.query(
        "SELECT creator_id, likes FROM engagement_hour WHERE media_id = '' AND "
        "window_start > now() + 3600 ORDER BY creator_id")
    assert hours == [{"creator_id": "cr-foreign", "likes": 1},
                     {"creator_id": "cr-stamped", "likes": 1}]


def test_extreme_numbers_are_refused_by_the_contract_or_stored(
    kafka_bootstrap: str, warehouse: EmbeddedWarehouse, tmp_path: Path
) -> None:
    fresh_topics(kafka_bootstrap)
    lines = simulated(seed=15, events=3_000)
    t0 = parse_timestamp_ms("2026-11-27T00:00:00Z")
    sender = Sender(kafka_bootstrap)
    sender.envelopes(lines)
    creator = "cr-extreme"
    # an ordinary history past the detector's warm-up, then the largest count allowed
    history = [20_000 + 2 * i + i % 3 for i in range(60)]
    for i, count in enumerate(history):
        sender.value(FOLLOWERS_TOPIC, {"creator_id": creator, "followers_count": count,
                                       "follows_count": 300,
                                       "observed_at": t0 + i * 300_000})
    extremes = [2**64 - 1, 2**63, 10**10 + 1, -1]
    for i, count in enumerate(extremes):
        raw = (b'{"creator_id": "cr-extreme", "follows_count": 300, "observed_at": '
               + str(t0 + (60 + i) * 300_000).encode() + b', "followers_count": '
               + str(count).encode() + b"}")
        sender.raw(FOLLOWERS_TOPIC, raw, key=creator.encode())
    for raw in (b'{"creator_id": "cr-extreme", "follows_count": 1e400, "observed_at": 1,'
                b' "followers_count": 1}',
                b'{"creator_id": "cr-extreme", "follows_count": 18446744073709551616,'
                b' "observed_at": 1, "followers_count": 1}',
                b'{"creator_id": "cr-extreme", "follows_count": 1, "observed_at": '
                b'99999999999999999999, "followers_count": 1}'):
        sender.raw(FOLLOWERS_TOPIC, raw, key=creator.encode())
    sender.value(FOLLOWERS_TOPIC, {"creator_id": creator, "followers_count": 10**10,
                                   "follows_count": 10**10, "observed_at": t0 + 70 * 300_000})
    sender.close()

    worker = run_worker(kafka_bootstrap, warehouse, "extreme")
    matches_recount(warehouse, lines, tmp_path)
    stored = warehouse.query(
        "SELECT followers_count, follows_count FROM follower_snapshots FINAL "
        "WHERE creator_id = 'cr-extreme' ORDER BY observed_at_ms")
    assert len(stored) == 61 and stored[-1] == {"followers_count": 10**10,
                                                 "follows_count": 10**10}
    letters = reasons(read_dlq(kafka_bootstrap))
    assert letters["impossible_value"] == 4  # 2^64-1, 2^63, 10^10+1, -1
    assert sum(letters.values()) == 7 == sum(worker.stats.dead_letters.values())
    # the jump to 10^10 opens an alert whose growth is stored exactly
    alerts = warehouse.query(
        "SELECT observed_growth, followers_count FROM follower_spike_alerts FINAL "
        "WHERE creator_id = 'cr-extreme'")
    assert alerts == [{"observed_growth": 10**10 - history[-1], "followers_count": 10**10}]
    assert dead_letter_rows(warehouse) == []


def test_a_dlq_that_refuses_large_letters_loses_none(
    kafka_bootstrap: str, warehouse: EmbeddedWarehouse, tmp_path: Path
) -> None:
    fresh_topics(kafka_bootstrap, {"max.message.bytes": "1000"})
    lines = simulated(seed=16, events=4_000)
    sender = Sender(kafka_bootstrap)
    sender.envelopes(lines[:2_000])
    bad = [b"{" * n for n in (1, 5, 20, 100, 300, 600, 900, 1500, 5000, 60_000)]
    for i, value in enumerate(bad):
        sender.raw(MEDIA_TOPIC if i % 2 else INTERACTIONS_TOPIC, value, key=b"cr-00002")
    sender.envelopes(lines[2_000:])
    sender.close()

    undeliverable_before = metric("campaignpulse_dead_letters_undeliverable_total",
                                  topic=DLQ_TOPIC)
    worker = run_worker(kafka_bootstrap, warehouse, "tight-dlq")
    matches_recount(warehouse, lines, tmp_path)
    delivered = {int(dict(m.headers)["campaignpulse.length"]) for m in read_dlq(kafka_bootstrap)}
    recorded = dead_letter_rows(warehouse)
    kept = {r["length"] for r in recorded}
    # every bad record is either acknowledged on the topic or in the table, none in both
    assert delivered | kept == {len(v) for v in bad} and not delivered & kept
    assert {1, 5, 20, 100} <= delivered and {1500, 5000, 60_000} <= kept
    assert sum(worker.stats.dead_letters.values()) == len(bad)
    for row in recorded:
        assert row["reason"] == "malformed_json" and "TooLarge" in row["failure"]
        assert row["source_topic"] in (INTERACTIONS_TOPIC, MEDIA_TOPIC)
        assert row["prefix"] == "{" * min(row["length"], 1024)
    undeliverable = metric("campaignpulse_dead_letters_undeliverable_total", topic=DLQ_TOPIC)
    assert undeliverable - undeliverable_before == len(recorded)
