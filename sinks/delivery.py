"""Acknowledged, bounded delivery of dead letters and alerts to Kafka.

``send`` appends a letter to a record batch of its partition (aiokafka's
``create_batch``/``send_batch``: no coroutine and no future per letter, one per batch);
once ``max_in_flight`` letters (or ``max_in_flight_bytes``) await their acknowledgement it
first waits for the oldest batch, so a flood of bad records slows the consumer down
instead of piling up coroutines or memory. ``push`` hands the batches being filled to
the producer, so letters and alerts leave at the end of each consumed batch. ``drain``
returns when every letter sent so far was acknowledged by the broker (``acks=all``) or
set aside, which is what the worker waits for before it commits past the records the
letters stand for.

A refusal the broker will repeat (too large for the topic, not authorised, ...) is
tried once more as a batch of its own (a batch of several small letters can exceed a
small ``max.message.bytes`` where each alone fits), then handed to ``on_undeliverable``;
transient failures (timeouts, leader changes, a broker restart) are retried with
exponential backoff for up to ``retry_for_s`` and then raise :class:`DeliveryFailed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from campaignpulse.sinks.dead_letters import Letter

log = logging.getLogger(__name__)

#: called with a letter the broker refused for good and the refusal
Undeliverable = Callable[[Letter, str], None]


class DeliveryFailed(RuntimeError):
    """Kafka stayed unavailable for longer than the retry budget."""


def transient(exc: BaseException) -> bool:
    """Kafka's own verdict (retriable errors may succeed later), plus timeouts, which the
    client does not mark retriable but which say nothing about the letter."""
    return bool(getattr(exc, "retriable", False)) or isinstance(
        exc, KafkaTimeoutError | ConnectionError | TimeoutError
    )


class AcknowledgedSender:
    def __init__(
        self,
        producer: Any,
        on_undeliverable: Undeliverable,
        max_in_flight: int = 10_000,
        max_in_flight_bytes: int = 32 * 1024 * 1024,
        retry_for_s: float = 120.0,
    ) -> None:
        self._producer = producer
        self._on_undeliverable = on_undeliverable
        self._max_in_flight = max_in_flight
        self._max_in_flight_bytes = max_in_flight_bytes
        self._retry_for_s = retry_for_s
        #: batches being filled, per partition, with their letters
        self._open: dict[tuple[str, int], tuple[Any, list[Letter]]] = {}
        #: batches handed to the producer, oldest first, with their delivery futures
        self._in_flight: deque[tuple[list[Letter], asyncio.Future[Any]]] = deque()
        self._letters = 0  # open and in flight
        self._bytes = 0
        self._partitions: dict[str, list[int]] = {}
        self._round_robin = 0
        #: most letters ever waiting for acknowledgement at once (for tests and the bench)
        self.peak_in_flight = 0
        self.acknowledged = 0
        self.undeliverable = 0

    def __len__(self) -> int:
        return self._letters

    async def send(self, letter: Letter) -> None:
        """Add one letter to its partition's batch; waits for the oldest batches first
        when too many letters (or bytes) await their acknowledgement."""
        while self._letters and (
            self._letters >= self._max_in_flight
            or self._bytes + letter.size > self._max_in_flight_bytes
        ):
            if not self._in_flight:
                await self.push()
            await self._settle_oldest()
        tp = (letter.topic, await self._partition(letter))
        entry = self._open.get(tp)
        if entry is not None and not self._append(entry[0], letter):
            await self._submit(tp)  # full: off it goes, the letter starts the next one
            entry = None
        if entry is None:
            entry = self._open[tp] = (self._producer.create_batch(), [])
            self._append(entry[0], letter)  # the first record always fits a batch
        entry[1].append(letter)
        self._letters += 1
        self._bytes += letter.size
        self.peak_in_flight = max(self.peak_in_flight, self._letters)

    async def push(self) -> None:
        """Hand every batch being filled to the producer (without waiting for acks)."""
        for tp in list(self._open):
            await self._submit(tp)

    async def drain(self) -> None:
        """Return once every letter sent so far is acknowledged or set aside."""
        await self.push()
        while self._in_flight:
            await self._settle_oldest()

    @staticmethod
    def _append(batch: Any, letter: Letter) -> bool:
        appended = batch.append(
            key=letter.key, value=letter.value, timestamp=None, headers=letter.headers
        )
        return appended is not None

    async def _partition(self, letter: Letter) -> int:
        partitions = self._partitions.get(letter.topic)
        if partitions is None:
            found = await self._producer.partitions_for(letter.topic)
            partitions = self._partitions[letter.topic] = sorted(found)
        if letter.key is None:
            self._round_robin += 1
            return partitions[self._round_robin % len(partitions)]
        return int(_PARTITIONER(letter.key, partitions, partitions))

    async def _submit(self, tp: tuple[str, int]) -> None:
        batch, letters = self._open.pop(tp)
        try:
            future = await self._producer.send_batch(batch, tp[0], partition=tp[1])
        except Exception as exc:  # not even queued (producer closed, timeout)
            future = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
        self._in_flight.append((letters, future))

    async def _settle_oldest(self) -> None:
        letters, future = self._in_flight.popleft()
        try:
            await future
        except Exception as exc:
            # One refusal covers the whole batch: decide letter by letter.
            for letter in letters:
                await self._failed(letter, exc)
        else:
            self.acknowledged += len(letters)
        self._letters -= len(letters)
        self._bytes -= sum(x.size for x in letters)

    async def _failed(self, letter: Letter, exc: BaseException) -> None:
        if transient(exc):
            await self._retry(letter, exc)
            return
        try:
            await self._send_alone(letter)
        except Exception as again:
            if transient(again):
                await self._retry(letter, again)
                return
            self.undeliverable += 1
            log.warning("letter for %s refused for good (%r); recorded instead",
                        letter.topic, again)
            self._on_undeliverable(letter, repr(again))
        else:
            self.acknowledged += 1

    async def _send_alone(self, letter: Letter) -> None:
        batch = self._producer.create_batch()
        self._append(batch, letter)
        partition = await self._partition(letter)
        await (await self._producer.send_batch(batch, letter.topic, partition=partition))

    async def _retry(self, letter: Letter, first: BaseException) -> None:
        log.warning("letter for %s not delivered (%r); retrying", letter.topic, first)
        retrying = AsyncRetrying(
            retry=retry_if_exception(transient),
            stop=stop_after_delay(self._retry_for_s),
            wait=wait_exponential(multiplier=0.2, max=5.0),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._send_alone(letter)
        except Exception as exc:
            if transient(exc):
                raise DeliveryFailed(f"{letter.topic}: {exc!r}") from exc
            self.undeliverable += 1
            self._on_undeliverable(letter, repr(exc))
            return
        self.acknowledged += 1


#: Kafka's default (murmur2) partitioner: a letter lands where the Java client puts its key
_PARTITIONER = DefaultPartitioner()
