"""The session's Kafka is shared by tests that read input topics from the beginning."""

from __future__ import annotations

from campaignpulse.streams.contract import INPUT_TOPICS


def forget_inputs(bootstrap: str) -> None:
    """Delete every record now in the input topics, so later tests never read ours."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(t, p) for t in INPUT_TOPICS
                 for p in consumer.partitions_for_topic(t) or ()]
        ends = {tp: end for tp, end in consumer.end_offsets(parts).items() if end > 0}
    finally:
        consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_records(ends)
    finally:
        admin.close()
