"""Records carry their event time; a broker that refuses one gets it again unstamped."""

from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic

from campaignpulse.producers import publisher as publishing
from campaignpulse.producers.jsonl import Outgoing
from campaignpulse.producers.publisher import PUBLISHED_AT_HEADER, Publisher

TOPIC = "ts-strict"  # Kafka 4's default: CreateTime at most 1 h ahead


def test_event_time_stamped_and_a_refused_one_sent_again_unstamped(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(TOPIC, 1, 1, topic_configs={
        "message.timestamp.after.max.ms": "3600000"})], wait_for_metadata=True)
    admin.close()
    monkeypatch.setitem(publishing.TIME_FIELDS, TOPIC, "occurred_at")
    now = int(time.time() * 1000)
    past, future = now - 5 * 3_600_000, now + 3 * 3_600_000
    # limits as if the topic accepted a day ahead: the broker has the last word
    sender = Publisher(kafka_bootstrap, client_id="ts-test", limits=(10**12, 86_400_000))
    report = sender.publish(Outgoing(TOPIC, b"c1", orjson.dumps({"occurred_at": ts}))
                            for ts in (past, future))
    sender.close()
    assert report.unstamped == 1
    assert report.next_offsets[(TOPIC, 0)] == 2

    consumer = KafkaConsumer(TOPIC, bootstrap_servers=kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    records = list(consumer)
    consumer.close()
    by_time = {orjson.loads(r.value)["occurred_at"]: r for r in records}
    assert set(by_time) == {past, future}
    assert by_time[past].timestamp == past  # event time, for seeking by time
    published = int(dict(by_time[future].headers)[PUBLISHED_AT_HEADER])
    assert now - 60_000 <= published <= int(time.time() * 1000)
    assert abs(by_time[future].timestamp - published) < 60_000  # refused: stamped on send
