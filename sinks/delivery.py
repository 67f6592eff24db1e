"""Acknowledged, bounded delivery of dead letters and alerts to Kafka.

``send`` appends to the producer's batches and keeps only the delivery future; once
``max_in_flight`` letters (or ``max_in_flight_bytes``) await their acknowledgement it
first waits for the oldest, so a flood of bad records slows the consumer down instead of
piling up coroutines or memory. ``drain`` returns when every letter sent so far was
acknowledged by the broker (``acks=all``) or set aside, which is what the worker waits
for before it commits past the records the letters stand for.

A refusal the broker will repeat (too large for the topic, not authorised, ...) is
tried once more as a batch of its own (a batch of several small letters can exceed a
small ``max.message.bytes`` where each alone fits), then handed to ``on_undeliverable``;
transient failures (timeouts, leader changes, a broker restart) are retried with
exponential backoff for up to ``retry_for_s`` and then raise :class:`DeliveryFailed`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaTimeoutError
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
        self._in_flight: deque[tuple[Letter, asyncio.Future[Any]]] = deque()
        self._in_flight_bytes = 0
        #: most letters ever awaiting acknowledgement at once (for tests and the bench)
        self.peak_in_flight = 0
        self.acknowledged = 0
        self.undeliverable = 0

    def __len__(self) -> int:
        return len(self._in_flight)

    async def send(self, letter: Letter) -> None:
        """Queue one letter; waits for the oldest ones first when too many are in flight."""
        while self._in_flight and (
            len(self._in_flight) >= self._max_in_flight
            or self._in_flight_bytes + letter.size > self._max_in_flight_bytes
        ):
            await self._settle_oldest()
        try:
            future = await self._producer.send(
                letter.topic, letter.value, key=letter.key, headers=letter.headers
            )
        except Exception as exc:  # refused before it was queued, e.g. larger than a request
            await self._failed(letter, exc)
            return
        self._in_flight.append((letter, future))
        self._in_flight_bytes += letter.size
        self.peak_in_flight = max(self.peak_in_flight, len(self._in_flight))

    async def drain(self) -> None:
        """Return once every letter sent so far is acknowledged or set aside."""
        while self._in_flight:
            await self._settle_oldest()

    async def _settle_oldest(self) -> None:
        letter, future = self._in_flight.popleft()
        self._in_flight_bytes -= letter.size
        try:
            await future
        except Exception as exc:
            await self._failed(letter, exc)
        else:
            self.acknowledged += 1

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
        producer = self._producer
        batch = producer.create_batch()
        if batch.append(key=letter.key, value=letter.value, timestamp=None,
                        headers=letter.headers) is None:
            raise ValueError("letter larger than a producer batch")
        partitions = sorted(await producer.partitions_for(letter.topic))
        spread = zlib.crc32(letter.key or letter.sha256.encode())
        await (await producer.send_batch(
            batch, letter.topic, partition=partitions[spread % len(partitions)]
        ))

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
                    await (await self._producer.send(
                        letter.topic, letter.value, key=letter.key, headers=letter.headers
                    ))
        except Exception as exc:
            if transient(exc):
                raise DeliveryFailed(f"{letter.topic}: {exc!r}") from exc
            await self._failed(letter, exc)  # now a refusal for good
            return
        self.acknowledged += 1
