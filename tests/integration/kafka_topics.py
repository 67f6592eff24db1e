"""The session's Kafka is shared by tests that read input topics from the beginning."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def forget_inputs(bootstrap: str) -> None:
    """Delete every record now in the broker's topics, so later tests never read ours.

    Compacted topics refuse DeleteRecords; they are left as they are (tests that read
    them use ids of their own).
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

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
    try:
        for tp, end in ends.items():
            try:
                admin.delete_records({tp: end})
            except Exception as exc:  # noqa: BLE001 - compacted topics refuse, by design
                log.info("records of %s kept: %s", tp, exc)
    finally:
        admin.close()
