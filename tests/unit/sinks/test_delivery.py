"""The bounded, acknowledged sender against a scripted producer (the Kafka client's
batch interface; the real broker is in tests/integration/test_bad_input.py)."""

import asyncio

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from campaignpulse.sinks.dead_letters import LetterLimits, dead_letter
from campaignpulse.sinks.delivery import AcknowledgedSender, DeliveryFailed


def letter(i, size=10, key=b"c"):
    return dead_letter("dlq", ("ig.media", 0, i), key, b"x" * size, "schema", "d",
                       LetterLimits())


class Batch:
    """Like aiokafka's BatchBuilder: the first record always fits, then up to a size."""

    def __init__(self, capacity):
        self.records, self.capacity, self.size = [], capacity, 0

    def append(self, *, key, value, timestamp, headers):
        if self.records and self.size + len(value) > self.capacity:
            return None
        self.records.append(value)
        self.size += len(value)
        return object()


class ScriptedProducer:
    """Hands out one delivery future per batch; ``outcome(n, records)`` decides each: None
    (ack), an exception, or "hold" (the test resolves it)."""

    def __init__(self, outcome=lambda n, records: None, capacity=1000):
        self.outcome, self.capacity = outcome, capacity
        self.held: list[asyncio.Future] = []
        self.batches: list[list[bytes]] = []

    def create_batch(self):
        return Batch(self.capacity)

    async def partitions_for(self, topic):
        return {0, 1, 2}

    async def send_batch(self, batch, topic, *, partition):
        future = asyncio.get_running_loop().create_future()
        result = self.outcome(len(self.batches), batch.records)
        self.batches.append(batch.records)
        if isinstance(result, str):
            self.held.append(future)
        elif result is None:
            future.set_result("ack")
        else:
            future.set_exception(result)
        return future


def test_a_flood_is_batched_without_a_task_per_letter_and_waits_when_full():
    async def main():
        producer = ScriptedProducer(lambda n, records: "hold" if n < 102 else None, capacity=100)
        sender = AcknowledgedSender(producer, lambda *a: None, max_in_flight=1000)
        tasks_before = len(asyncio.all_tasks())
        for i in range(1000):
            await sender.send(letter(i, key=None))
        await sender.push()
        assert len(sender) == 1000 and len(asyncio.all_tasks()) == tasks_before
        # ten 10-byte letters a batch over three partitions, not one send a letter
        assert len(producer.held) == 3 * 34
        # the next letter waits for the oldest batch's acknowledgement: backpressure
        blocked = asyncio.ensure_future(sender.send(letter(1000)))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        producer.held[0].set_result("ack")
        await asyncio.wait_for(blocked, 1)
        assert len(sender) == 991
        for future in producer.held[1:]:
            future.set_result("ack")
        await sender.drain()
        assert sender.acknowledged == 1001 and len(sender) == 0
        assert sender.peak_in_flight == 1000

    asyncio.run(main())


def test_in_flight_bytes_are_bounded_too():
    async def main():
        producer = ScriptedProducer(lambda n, records: "hold", capacity=10)
        sender = AcknowledgedSender(producer, lambda *a: None, max_in_flight_bytes=50_000)
        for i in range(4):
            await sender.send(letter(i, size=10_000))
        blocked = asyncio.ensure_future(sender.send(letter(9, size=10_000)))
        await asyncio.sleep(0.05)
        assert not blocked.done() and len(sender) == 4
        producer.held[0].set_result("ack")
        await asyncio.wait_for(blocked, 1)
        assert len(sender) == 4

    asyncio.run(main())


def test_drain_returns_only_after_every_acknowledgement():
    async def main():
        producer = ScriptedProducer(lambda n, records: "hold", capacity=10)
        sender = AcknowledgedSender(producer, lambda *a: None)
        for i in range(5):
            await sender.send(letter(i))
        drained = asyncio.ensure_future(sender.drain())
        await asyncio.sleep(0.05)
        for future in producer.held[:4]:
            future.set_result("ack")
        await asyncio.sleep(0.05)
        assert not drained.done()  # one letter still unacknowledged: no commit yet
        producer.held[4].set_result("ack")
        await asyncio.wait_for(drained, 1)
        assert sender.acknowledged == 5

    asyncio.run(main())


def test_a_batch_too_large_for_the_topic_is_retried_letter_by_letter():
    """Several small letters in one batch can exceed max.message.bytes where each fits."""
    async def main():
        refused = []

        def topic_limit(n, records):
            if sum(map(len, records)) > 500:
                return MessageSizeTooLargeError()
            return None

        producer = ScriptedProducer(topic_limit, capacity=10_000)
        sender = AcknowledgedSender(producer, lambda lt, why: refused.append((lt, why)))
        for i, size in enumerate((100, 300, 200, 900)):
            await sender.send(letter(i, size=size))
        await sender.drain()
        assert sender.acknowledged == 3 and sender.undeliverable == 1
        assert [lt.source_offset for lt, _ in refused] == [3]
        assert "MessageSizeTooLarge" in refused[0][1]
        assert [len(b) for b in producer.batches] == [4, 1, 1, 1, 1]

    asyncio.run(main())


def test_transient_failures_are_retried_with_backoff_until_acknowledged():
    async def main():
        producer = ScriptedProducer(lambda n, records: KafkaTimeoutError() if n < 3 else None)
        sender = AcknowledgedSender(producer, lambda *a: pytest.fail("not undeliverable"))
        await sender.send(letter(1))
        await sender.drain()
        assert sender.acknowledged == 1 and len(producer.batches) == 4

    asyncio.run(main())


def test_a_broker_that_stays_away_stops_the_worker_uncommitted():
    async def main():
        producer = ScriptedProducer(lambda n, records: KafkaTimeoutError())
        sender = AcknowledgedSender(producer, lambda *a: pytest.fail("not undeliverable"),
                                    retry_for_s=0.5)
        await sender.send(letter(1))
        with pytest.raises(DeliveryFailed):
            await sender.drain()

    asyncio.run(main())


def test_keyed_letters_land_where_kafka_puts_their_key():
    async def main():
        from aiokafka.partitioner import murmur2

        producer = ScriptedProducer(capacity=10)
        sender = AcknowledgedSender(producer, lambda *a: None)
        partitions = []
        original = producer.send_batch

        async def spy(batch, topic, *, partition):
            partitions.append(partition)
            return await original(batch, topic, partition=partition)

        producer.send_batch = spy
        for key in (b"cr-1", b"cr-2", b"cr-3"):
            await sender.send(letter(0, key=key))
        await sender.drain()
        assert partitions == [(murmur2(k) & 0x7FFFFFFF) % 3 for k in (b"cr-1", b"cr-2", b"cr-3")]

    asyncio.run(main())
