"""The central end-to-end test: an event file through real Apache Kafka into ClickHouse."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from campaignpulse.broker import ensure_topics
from campaignpulse.producers.publisher import PublishReport
from campaignpulse.producers.simulator import CampaignSimulator, Faults
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.contract import DLQ_TOPIC
from campaignpulse.streams.timestamps import parse_timestamp_ms
from campaignpulse.worker.engines import Engine, new_worker
from campaignpulse.worker.records import finish_line
from tests.integration.expectations import CURRENT_ROWS, assert_warehouse_matches
from tests.integration.kafka_topics import forget_inputs
from tests.integration.state_files import publish_file

HAND_WRITTEN_BAD = [
    "this is not json",
    json.dumps({"topic": "ig.interactions", "value": "{\"event_id\": \"cut"}),
    json.dumps({"topic": "ig.interactions", "value": {
        "event_id": "bad-kind", "creator_id": "cr-00001", "media_id": "m", "campaign_id": None,
        "kind": "poke", "actor_id": "a", "occurred_at": "2026-11-27T01:00:00Z", "text": None}}),
    json.dumps({"topic": "ig.followers", "value": {
        "creator_id": "cr-00001", "followers_count": -5, "follows_count": 1,
        "observed_at": "2026-11-27T01:00:00Z"}}),
    json.dumps({"topic": "ig.interactions", "value": {
        "event_id": "future", "creator_id": "cr-00001", "media_id": "m", "campaign_id": None,
        "kind": "like", "actor_id": "a", "occurred_at": "2099-01-01T00:00:00Z", "text": None}}),
]


@pytest.fixture(scope="module")
def event_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("events") / "events.jsonl"
    simulator = CampaignSimulator(
        seed=3, start_ms=parse_timestamp_ms("2026-11-27T00:00:00Z"), creators=60,
        faults=Faults(duplicate=0.01, late=0.003, malformed=0.002),
    )
    lines = []
    for envelope in simulator.events():
        lines.append(envelope.to_json())
        if len(lines) == 25_000:
            break
    lines[100:100] = HAND_WRITTEN_BAD
    path.write_text("\n".join(lines) + "\n")
    return path


async def consume(
    settings: Settings, warehouse: EmbeddedWarehouse, report: PublishReport
) -> Engine:
    worker = new_worker(settings, warehouse, client_id="e2e")
    worker.until = finish_line(report)
    await asyncio.wait_for(worker.run(asyncio.Event()), timeout=180)
    return worker


def dead_letter_reasons(bootstrap: str) -> Counter[str]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(DLQ_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, enable_auto_commit=False)
    reasons = Counter(dict(m.headers)["campaignpulse.reason"].decode() for m in consumer)
    consumer.close()
    return reasons


def test_file_through_kafka_equals_recount_and_replay_changes_nothing(
    kafka_bootstrap: str, event_file: Path, tmp_path: Path, engine: str
) -> None:
    forget_inputs(kafka_bootstrap)  # the other engine's run left the same file and letters
    settings = Settings(kafka_bootstrap=kafka_bootstrap, group_id=f"e2e-1-{engine}",
                        engine=engine, flush_interval_s=0.3, metrics_port=0,
                        faust_web_port=0, topic_retention_ms=86_400_000)
    ensure_topics(settings)
    report = publish_file(kafka_bootstrap, event_file)
    assert report.unroutable == 1  # "this is not json" cannot be routed to a topic

    from prometheus_client import REGISTRY

    def metric(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    late_before = metric("campaignpulse_late_events_total", topic="ig.interactions")
    def engagement_rows_written() -> float:
        return sum(metric("campaignpulse_sink_rows_total", table=t)
                   for t in ("media_windows", "creator_windows"))

    rows_before = engagement_rows_written()
    warehouse = EmbeddedWarehouse(str(tmp_path / "wh"))
    try:
        migrate(warehouse)
        worker = asyncio.run(consume(settings, warehouse, report))
        rows = assert_warehouse_matches(warehouse, event_file)
        assert rows > 1000

        reasons = dead_letter_reasons(kafka_bootstrap)
        assert reasons["malformed_line"] == 1
        assert reasons["malformed_json"] >= 2
        assert reasons["unknown_kind"] == 1
        assert reasons["impossible_value"] == 2
        assert reasons["late"] > 0
        assert sum(worker.stats.dead_letters.values()) + 1 == sum(reasons.values())
        assert worker.stats.duplicates > 0
        late = metric("campaignpulse_late_events_total", topic="ig.interactions") - late_before
        assert late == reasons["late"]
        written = engagement_rows_written()
        assert written - rows_before >= rows

        snapshot = [warehouse.query(sql) for sql in CURRENT_ROWS]
        # Replay: the same file again, consumed by a fresh group from the start.
        again_report = publish_file(kafka_bootstrap, event_file)
        replay = settings.model_copy(update={"group_id": f"e2e-replay-{engine}"})
        asyncio.run(consume(replay, warehouse, again_report))
        again = [warehouse.query(sql) for sql in CURRENT_ROWS]
        assert again == snapshot
        assert_warehouse_matches(warehouse, event_file)
    finally:
        warehouse.close()
