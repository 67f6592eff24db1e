"""One record adapter: a Faust event's message becomes the same RawRecord as the aiokafka
record it was made from (Faust keeps the timestamp in seconds)."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.transport.consumer import ConsumerMessage

from campaignpulse.producers.publisher import PUBLISHED_AT_HEADER
from campaignpulse.worker.records import faust_raw_record, raw_record


def test_a_faust_message_and_its_kafka_record_give_the_same_raw_record() -> None:
    for timestamp in (1_796_000_000_123, 1_796_000_000_999, 1):
        headers = ((PUBLISHED_AT_HEADER, b"1796000000500"),)
        record = ConsumerRecord("ig.media", 3, 17, timestamp, 0, b"c1", b"{}", None, 2, 2,
                                headers)
        message = ConsumerMessage("ig.media", 3, 17, timestamp / 1000.0, 0, headers, b"c1",
                                  b"{}", None, 2, 2, TopicPartition("ig.media", 3))
        got = faust_raw_record(message)
        assert got == raw_record("ig.media", 3, record)
        assert got.timestamp_ms == timestamp and got.published_ms == 1_796_000_000_500
