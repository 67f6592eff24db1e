"""The session's Kafka is shared by tests that read input topics from the beginning."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


def forget_inputs(bootstrap: str) -> None:
    """Delete every record now in the broker's topics, so later tests never read ours.

    Compacted topics (campaign definitions, state changelogs) refuse DeleteRecords: they
    are deleted and the contract's topics created again, since every worker reads all of
    ``ig.campaigns`` at start and would dead-letter another test's broken definitions.
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    from campaignpulse.broker import ensure_topics
    from campaignpulse.settings import Settings

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        topics = [t for t in consumer.topics() if not t.startswith("__")]
        parts = [TopicPartition(t, p) for t in topics
                 for p in consumer.partitions_for_topic(t) or ()]
        ends = {tp: end for tp, end in consumer.end_offsets(parts).items() if end > 0}
    finally:
        consumer.close()
    if not ends:
        return
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    compacted: set[str] = set()
    try:
        for tp, end in ends.items():
            try:
                admin.delete_records({tp: end})
            except Exception as exc:  # noqa: BLE001 - compacted topics refuse, by design
                log.info("records of %s kept: %s", tp, exc)
                compacted.add(tp.topic)
        if compacted:
            admin.delete_topics(sorted(compacted))
            deadline = time.monotonic() + 30
            while compacted & set(admin.list_topics()) and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        admin.close()
    if compacted:
        ensure_topics(Settings(kafka_bootstrap=bootstrap))
