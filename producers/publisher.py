"""Publishing to Kafka with kafka-python, keyed by creator so partitions hold whole creators."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from campaignpulse.producers.jsonl import Outgoing
from campaignpulse.producers.simulator import Envelope
from campaignpulse.streams.contract import DLQ_TOPIC
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC


@dataclass
class PublishReport:
    by_topic: Counter[str] = field(default_factory=Counter)
    unroutable: int = 0
    #: (topic, partition) -> the offset after the last acknowledged record. Consumers use
    #: it as the finish line: Tansu's ListOffsets under-reports the log end, acks do not.
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def acknowledged(self, metadata: Any) -> None:
        key = (metadata.topic, metadata.partition)
        if metadata.offset >= self.next_offsets.get(key, 0):
            self.next_offsets[key] = metadata.offset + 1


def envelope_to_outgoing(envelope: Envelope) -> Outgoing:
    value = envelope.value
    if isinstance(value, str):
        return Outgoing(envelope.topic, None, value.encode())
    key = value["campaign_id" if envelope.topic == CAMPAIGNS_TOPIC else "creator_id"]
    return Outgoing(envelope.topic, key.encode(), orjson.dumps(value))


class Publisher:
    """A thin kafka-python producer; batching and compression are the client's."""

    def __init__(self, bootstrap: str, client_id: str = "campaignpulse-producer") -> None:
        from kafka import KafkaProducer

        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            linger_ms=20,
            batch_size=256 * 1024,
            max_in_flight_requests_per_connection=1,  # keeps per-key order across retries
            retries=5,
        )
        self.report = PublishReport()

    def publish(
        self,
        items: Iterable[Outgoing],
        rate: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PublishReport:
        """Send everything; with ``rate``, pace to about that many events per second.

        ``should_stop`` is asked every 200 events; ``progress`` hears the count sent so far.
        """
        started = time.monotonic()
        sent = 0
        for item in items:
            if item.problem is not None:
                headers = [("campaignpulse.reason", b"malformed_line"),
                           ("campaignpulse.detail", item.problem.encode())]
                self._producer.send(DLQ_TOPIC, value=item.value, headers=headers)
                self.report.unroutable += 1
            else:
                future = self._producer.send(item.topic, key=item.key, value=item.value)
                future.add_callback(self.report.acknowledged)
                self.report.by_topic[item.topic] += 1
            sent += 1
            if sent % 200 == 0:
                if rate:
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
                if progress is not None:
                    progress(sent)
                if should_stop is not None and should_stop():
                    break
        self._producer.flush()
        if progress is not None:
            progress(sent)
        return self.report

    def close(self) -> None:
        self._producer.close()
