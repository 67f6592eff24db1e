"""End offsets of the input topics: the finish line for file demos and the bench."""

from __future__ import annotations

from aiokafka.structs import TopicPartition

from streams.contract import INPUT_TOPICS


def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KafkaTopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, client_id="campaignpulse-offsets", enable_auto_commit=False
    )
    try:
        partitions = [
            KafkaTopicPartition(topic, p)
            for topic in INPUT_TOPICS
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = consumer.end_offsets(partitions)
    finally:
        consumer.close()
    return {TopicPartition(tp.topic, tp.partition): int(end) for tp, end in ends.items()}
