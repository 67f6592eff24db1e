"""Interactions published by kcat (its default partitioner, not murmur2) next to snapshots
and media from our producer: engagement still equals the recount and the spike gate waits
on the partition where each creator's interactions really are."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
from pathlib import Path

import pytest
from aiokafka.structs import TopicPartition

from campaignpulse import metrics
from campaignpulse.broker import ensure_topics
from campaignpulse.producers.jsonl import Outgoing
from campaignpulse.producers.publisher import Publisher, envelope_to_outgoing
from campaignpulse.producers.simulator import CampaignSimulator, Faults, Incidents
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.contract import INPUT_TOPICS, INTERACTIONS_TOPIC
from campaignpulse.streams.timestamps import parse_timestamp_ms
from campaignpulse.worker.loop import Worker
from tests.integration.expectations import assert_warehouse_matches
from tests.integration.kafka_topics import forget_inputs


def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KafkaPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [KafkaPartition(t, p) for t in INPUT_TOPICS
                 for p in consumer.partitions_for_topic(t) or ()]
        return {TopicPartition(tp.topic, tp.partition): end
                for tp, end in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def start_group_at(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """The shared broker holds other tests' records: this group reads only ours."""
    from kafka import KafkaConsumer, OffsetAndMetadata
    from kafka import TopicPartition as KafkaPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False)
    try:
        consumer.commit({KafkaPartition(tp.topic, tp.partition): OffsetAndMetadata(end, "", -1)
                         for tp, end in offsets.items()})
    finally:
        consumer.close()


def test_kcat_default_partitioner_keeps_engagement_and_gate_right(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.fail("install kcat (.ci/run does)")
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id="kcat-contract",
                        flush_interval_s=0.3, metrics_port=0, topic_retention_ms=86_400_000)
    ensure_topics(settings)
    simulator = CampaignSimulator(
        seed=9, start_ms=parse_timestamp_ms("2026-11-25T06:00:00Z"), creators=14,
        faults=Faults(duplicate=0.01, late=0.0, malformed=0.0),
        incidents=Incidents(bought_per_day=2, viral_per_day=2),
    )
    envelopes = list(itertools.islice(simulator.events(), 15_000))
    events = tmp_path / "events.jsonl"
    events.write_text("".join(e.to_json() + "\n" for e in envelopes))
    outgoing: list[Outgoing] = [envelope_to_outgoing(e) for e in envelopes]
    before = end_offsets(kafka_bootstrap)
    start_group_at(kafka_bootstrap, settings.group_id, before)

    # everything but interactions through our producer (murmur2) ...
    publisher = Publisher(kafka_bootstrap, client_id="kcat-contract")
    publisher.publish(o for o in outgoing if o.topic != INTERACTIONS_TOPIC)
    publisher.close()
    # ... interactions through kcat, key<TAB>value, its default partitioner
    lines = b"".join(o.key + b"\t" + o.value + b"\n"  # type: ignore[operator]
                     for o in outgoing if o.topic == INTERACTIONS_TOPIC)
    subprocess.run([kcat, "-P", "-b", kafka_bootstrap, "-t", INTERACTIONS_TOPIC, "-K", "\t"],
                   input=lines, check=True, timeout=120)

    after = end_offsets(kafka_bootstrap)
    mismatches_before = metrics.COPARTITION_MISMATCHES._value.get()
    warehouse = EmbeddedWarehouse(str(tmp_path / "w"))
    try:
        migrate(warehouse)
        worker = Worker(settings, warehouse, client_id="kcat-contract")
        worker.until = {tp: end for tp, end in after.items() if end > before.get(tp, 0)}
        asyncio.run(asyncio.wait_for(worker.run(asyncio.Event()), timeout=180))
        assert worker.stats.dead_letters == {}, worker.stats.dead_letters
        assert assert_warehouse_matches(warehouse, events) > 500
        alerts = warehouse.query(
            "SELECT creator_id, severity, toUnixTimestamp(started_at) * 1000 AS started "
            "FROM follower_spike_alerts FINAL")
    finally:
        warehouse.close()
        forget_inputs(kafka_bootstrap)
    # kcat spread creators differently from murmur2, and the gate noticed
    assert metrics.COPARTITION_MISMATCHES._value.get() > mismatches_before
    bought = [(c, t) for kind, c, t in simulator.incident_log if kind == "bought"]
    viral = {c for kind, c, _ in simulator.incident_log if kind == "viral"}
    assert bought and viral, simulator.incident_log
    for creator, at in bought:  # bought followers are flagged ...
        assert any(a["creator_id"] == creator and int(a["started"]) <= at + 15 * 60_000
                   for a in alerts), (creator, at, alerts)
    bought_creators = {c for c, _ in bought}
    for alert in alerts:  # ... and a viral post's followers, judged with its engagement, are not
        if alert["creator_id"] in viral - bought_creators:
            assert alert["severity"] != "critical", alert
