"""A follower spike through real Kafka becomes a warehouse row and a real Alertmanager alert."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from campaignpulse import metrics
from campaignpulse.broker import ensure_topics
from campaignpulse.notify import run_notifier
from campaignpulse.producers.publisher import Publisher, PublishReport, envelope_to_outgoing
from campaignpulse.producers.simulator import Envelope
from campaignpulse.settings import Settings
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.streams.contract import FOLLOWERS_TOPIC
from campaignpulse.streams.timestamps import format_timestamp_ms
from campaignpulse.worker.loop import Worker
from campaignpulse.worker.records import finish_line
from tests.integration.services import Receiver, alertmanager

CREATOR = "cr-spiking"
MINUTE = 60_000


class Webhook(Receiver):
    """The on-call receiver, waiting for this test's creator."""

    async def wait_for_creator(self, status: str, timeout_s: float = 40.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for alert in self.alerts():
                if alert["status"] == status and alert["labels"]["creator_id"] == CREATOR:
                    return dict(alert)
            await asyncio.sleep(0.2)
        raise AssertionError(f"no {status} notification; got {self.received}")


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


def snapshots(start_ms: int, minutes: range, followers: list[int]) -> list[Envelope]:
    return [
        Envelope(FOLLOWERS_TOPIC, {
            "creator_id": CREATOR, "followers_count": followers[i], "follows_count": 400,
            "observed_at": format_timestamp_ms(start_ms + m * MINUTE),
        })
        for i, m in enumerate(minutes)
    ]


def publish(bootstrap: str, envelopes: list[Envelope]) -> PublishReport:
    publisher = Publisher(bootstrap, client_id="spike-test")
    report = publisher.publish(envelope_to_outgoing(e) for e in envelopes)
    publisher.close()
    return report


def firing_rows(warehouse: EmbeddedWarehouse) -> list[dict[str, Any]]:
    return warehouse.query(
        "SELECT alert_id, status, severity, reasons, observed_growth, version "
        "FROM follower_spike_alerts FINAL WHERE creator_id = {c:String}", {"c": CREATOR})


def test_spike_reaches_clickhouse_and_alertmanager_then_resolves(
    kafka_bootstrap: str, tmp_path: Path, webhook: Webhook
) -> None:
    rng = random.Random(1)
    followers = [20_000]
    for _ in range(80):
        followers.append(followers[-1] + rng.randint(0, 8))
    followers.append(followers[-1] + 5_000)  # a bought package, and nobody engaged
    start = int(time.time() * 1000) - 3 * 3_600_000
    before = snapshots(start, range(82), followers)
    calm = [followers[-1] + 3 * i for i in range(1, 4)]
    after = snapshots(start, range(82, 85), calm)

    with alertmanager(tmp_path, webhook.url) as am_url:
        settings = Settings(
            kafka_bootstrap=kafka_bootstrap, group_id="spikes-it", flush_interval_s=0.3,
            metrics_port=0, topic_retention_ms=86_400_000, alertmanager_url=am_url,
            alert_resend_s=1.0, alert_group_id="spikes-it-notifier",
        )
        ensure_topics(settings)
        warehouse = EmbeddedWarehouse(str(tmp_path / "warehouse"))
        migrate(warehouse)
        critical_before = metrics.SPIKE_ALERTS.labels("critical")._value.get()

        async def scenario() -> None:
            stop = asyncio.Event()
            notifier = asyncio.create_task(run_notifier(settings, stop))
            worker = Worker(settings, warehouse, client_id="spikes-it")
            worker.until = finish_line(publish(kafka_bootstrap, before))
            await asyncio.wait_for(worker.run(asyncio.Event()), timeout=120)

            [row] = firing_rows(warehouse)
            assert row["status"] == "firing"
            assert row["severity"] == "critical"
            assert row["observed_growth"] >= 4_990
            assert {"growth_above_baseline", "growth_without_engagement",
                    "round_number_jump"} <= set(row["reasons"])
            fired = await webhook.wait_for_creator("firing")
            assert fired["labels"]["alert_id"] == row["alert_id"]
            assert fired["labels"]["severity"] == "critical"
            assert "round_number_jump" in fired["annotations"]["reasons"]

            worker.until = finish_line(publish(kafka_bootstrap, after))
            await asyncio.wait_for(worker.run(asyncio.Event()), timeout=120)
            [row_after] = firing_rows(warehouse)
            assert row_after["alert_id"] == row["alert_id"]
            assert row_after["status"] == "resolved"
            assert row_after["version"] > row["version"]
            resolved = await webhook.wait_for_creator("resolved")
            assert resolved["labels"]["alert_id"] == row["alert_id"]
            stop.set()
            await asyncio.wait_for(notifier, timeout=30)

        asyncio.run(scenario())
        assert metrics.SPIKE_ALERTS.labels("critical")._value.get() == critical_before + 1
        warehouse.close()
