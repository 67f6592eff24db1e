"""The bounded, acknowledged sender against a scripted producer (the Kafka client's
interface; the real broker is in tests/integration/test_bad_input.py)."""

import asyncio

import pytest
from aiokafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from campaignpulse.sinks.dead_letters import LetterLimits, dead_letter
from campaignpulse.sinks.delivery import AcknowledgedSender, DeliveryFailed


def letter(i, size=10):
    return dead_letter("dlq", ("ig.media", 0, i), b"c", b"x" * size, "schema", "d",
                       LetterLimits())


class Batch:
    def __init__(self):
        self.records = []

    def append(self, *, key, value, timestamp, headers):
        self.records.append(value)
        return object()


class ScriptedProducer:
    """Hands out delivery futures; ``outcome(n, value)`` decides each one: None (ack),
    an exception, or "hold" (the test resolves it)."""

    def __init__(self, outcome=lambda n, value: None, alone=lambda value: None):
        self.outcome, self.alone = outcome, alone
        self.held: list[asyncio.Future] = []
        self.sends = 0
        self.batches = 0

    async def send(self, topic, value, key=None, headers=None):
        future = asyncio.get_running_loop().create_future()
        result = self.outcome(self.sends, value)
        self.sends += 1
        if result == "hold":
            self.held.append(future)
        elif result is None:
            future.set_result("ack")
        else:
            future.set_exception(result)
        return future

    def create_batch(self):
        return Batch()

    async def partitions_for(self, topic):
        return {0, 1, 2}

    async def send_batch(self, batch, topic, *, partition):
        self.batches += 1
        future = asyncio.get_running_loop().create_future()
        error = self.alone(batch.records[0])
        if error is None:
            future.set_result("ack")
        else:
            future.set_exception(error)
        return future


def test_a_flood_is_sent_without_a_task_per_letter_and_waits_when_full():
    async def main():
        producer = ScriptedProducer(lambda n, value: "hold")
        sender = AcknowledgedSender(producer, lambda *a: None, max_in_flight=100)
        tasks_before = len(asyncio.all_tasks())
        for i in range(100):
            await sender.send(letter(i))
        assert len(sender) == 100 and len(asyncio.all_tasks()) == tasks_before
        # the 101st waits for the oldest acknowledgement: backpressure on the consumer
        blocked = asyncio.ensure_future(sender.send(letter(100)))
        await asyncio.sleep(0.05)
        assert not blocked.done()
        producer.held[0].set_result("ack")
        await asyncio.wait_for(blocked, 1)
        assert len(sender) == 100
        for future in producer.held[1:]:
            future.set_result("ack")
        await sender.drain()
        assert sender.acknowledged == 101 and len(sender) == 0
        assert sender.peak_in_flight == 100

    asyncio.run(main())


def test_in_flight_bytes_are_bounded_too():
    async def main():
        producer = ScriptedProducer(lambda n, value: "hold")
        sender = AcknowledgedSender(producer, lambda *a: None, max_in_flight_bytes=50_000)
        for i in range(4):
            await sender.send(letter(i, size=10_000))
        blocked = asyncio.ensure_future(sender.send(letter(9, size=10_000)))
        await asyncio.sleep(0.05)
        assert not blocked.done() and len(producer.held) == 4  # the fifth is not sent yet
        producer.held[0].set_result("ack")
        await asyncio.wait_for(blocked, 1)

    asyncio.run(main())


def test_drain_returns_only_after_every_acknowledgement():
    async def main():
        producer = ScriptedProducer(lambda n, value: "hold")
        sender = AcknowledgedSender(producer, lambda *a: None)
        for i in range(5):
            await sender.send(letter(i))
        drained = asyncio.ensure_future(sender.drain())
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
        producer = ScriptedProducer(
            lambda n, value: MessageSizeTooLargeError(),
            alone=lambda value: MessageSizeTooLargeError() if len(value) > 500 else None,
        )
        sender = AcknowledgedSender(producer, lambda lt, why: refused.append((lt, why)))
        await sender.send(letter(1, size=100))
        await sender.send(letter(2, size=900))
        await sender.drain()
        assert sender.acknowledged == 1 and sender.undeliverable == 1
        assert producer.batches == 2
        assert [lt.source_offset for lt, _ in refused] == [2]
        assert "MessageSizeTooLarge" in refused[0][1]

    asyncio.run(main())


def test_a_refusal_before_queueing_is_set_aside_not_raised():
    async def main():
        refused = []

        class TooBig(ScriptedProducer):
            async def send(self, topic, value, key=None, headers=None):
                raise MessageSizeTooLargeError("larger than max_request_size")

        producer = TooBig(alone=lambda value: MessageSizeTooLargeError())
        sender = AcknowledgedSender(producer, lambda lt, why: refused.append(lt))
        await sender.send(letter(7))
        await sender.drain()
        assert len(refused) == 1 and sender.undeliverable == 1

    asyncio.run(main())


def test_transient_failures_are_retried_with_backoff_until_acknowledged():
    async def main():
        producer = ScriptedProducer(lambda n, value: KafkaTimeoutError() if n < 3 else None)
        sender = AcknowledgedSender(producer, lambda *a: pytest.fail("not undeliverable"))
        await sender.send(letter(1))
        await sender.drain()
        assert sender.acknowledged == 1 and producer.sends == 4

    asyncio.run(main())


def test_a_broker_that_stays_away_stops_the_worker_uncommitted():
    async def main():
        producer = ScriptedProducer(lambda n, value: KafkaTimeoutError())
        sender = AcknowledgedSender(producer, lambda *a: pytest.fail("not undeliverable"),
                                    retry_for_s=0.5)
        await sender.send(letter(1))
        with pytest.raises(DeliveryFailed):
            await sender.drain()

    asyncio.run(main())
