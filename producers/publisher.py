"""Publishing to Kafka with kafka-python, keyed by creator so partitions hold whole creators.

Each record carries its event time as the Kafka timestamp (CreateTime), so a replay can
seek by event time (``offsets_for_times``), and the producer's wall clock in the header
``campaignpulse.published_at`` (epoch ms, ASCII digits).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from campaignpulse.producers.jsonl import Outgoing
from campaignpulse.producers.simulator import Envelope
from campaignpulse.streams.contract import (
    DLQ_TOPIC,
    FOLLOWERS_TOPIC,
    INTERACTIONS_TOPIC,
    MAX_FUTURE_MS,
    MEDIA_TOPIC,
)
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC
from campaignpulse.streams.timestamps import TimestampError, parse_timestamp_ms

log = logging.getLogger(__name__)
PUBLISHED_AT_HEADER = "campaignpulse.published_at"
TIME_FIELDS = {INTERACTIONS_TOPIC: "occurred_at", MEDIA_TOPIC: "published_at",
               FOLLOWERS_TOPIC: "observed_at"}
#: what ``ensure_topics`` lets brokers accept: the contract's day ahead plus clock skew
#: (Kafka 4 refuses CreateTime more than 1 h ahead by default), and any age
TIMESTAMP_AFTER_MAX_MS = MAX_FUTURE_MS + 3_600_000
TIMESTAMP_BEFORE_MAX_MS = 2**63 - 1


def timestamp_limits(bootstrap: str, topics: tuple[str, ...]) -> tuple[int, int]:
    """(max age, max lead) of record timestamps the topics keep and accept, from the broker.

    Retention counts from the record timestamp, so an event older than the topic's
    retention must not be stamped with its event time: it would be deleted at once.
    Falls back to Kafka's defaults where the broker does not say (Tansu).
    """
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    past, future = TIMESTAMP_BEFORE_MAX_MS, 3_600_000 - 60_000
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="campaignpulse-limits")
    except Exception:  # noqa: BLE001 - limits are an optimisation; the refusal path remains
        return 7 * 86_400_000 - 3_600_000, future
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        described = admin.describe_configs(resources)  # kafka-python 3: {"topic": {...}}
        found: dict[str, list[int]] = {}
        for configs in described.get("topic", {}).values():
            for name, entry in configs.items():
                value = str(entry.get("value"))
                if value.lstrip("-").isdigit():
                    found.setdefault(name, []).append(int(value))
        retention = [v for v in found.get("retention.ms", []) if v >= 0]
        before = found.get("message.timestamp.before.max.ms", [])
        after = found.get("message.timestamp.after.max.ms", [])
        if retention:
            past = max(0, min(retention) - 3_600_000)
        if before:
            past = min(past, *before)
        if after:
            future = min(after) - 60_000
    except Exception:  # noqa: BLE001
        log.warning("could not read topic timestamp limits; using Kafka's defaults")
    finally:
        admin.close()
    return past, future


def event_time_ms(topic: str, value: bytes) -> int | None:
    """The event time of a contract value, or None when it has none we can read."""
    field_name = TIME_FIELDS.get(topic)
    if field_name is None:
        return None
    try:
        obj = orjson.loads(value)
        ts = parse_timestamp_ms(obj[field_name]) if isinstance(obj, dict) else None
    except (orjson.JSONDecodeError, KeyError, TimestampError, TypeError):
        return None
    return ts if ts is not None and ts >= 0 else None


@dataclass
class PublishReport:
    by_topic: Counter[str] = field(default_factory=Counter)
    unroutable: int = 0
    #: records sent without their event time: none readable, outside what the topic
    #: accepts, or refused by the broker and sent again without it
    unstamped: int = 0
    #: records the broker did not take (logged)
    failed: int = 0
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

    def __init__(
        self,
        bootstrap: str,
        client_id: str = "campaignpulse-producer",
        limits: tuple[int, int] | None = None,
    ) -> None:
        """``limits``: (max age, max lead) of timestamps the topics keep and accept (read
        from the broker when not given); event times outside are not stamped."""
        from kafka import KafkaProducer

        def connect() -> Any:
            return KafkaProducer(
                bootstrap_servers=bootstrap,
                client_id=client_id,
                acks="all",
                linger_ms=20,
                batch_size=256 * 1024,
                max_in_flight_requests_per_connection=1,  # keeps per-key order across retries
                retries=5,
            )

        self._connect = connect
        self._producer = connect()
        self.report = PublishReport()
        if limits is None:
            limits = timestamp_limits(bootstrap, (MEDIA_TOPIC, INTERACTIONS_TOPIC, FOLLOWERS_TOPIC))
        self.max_past_ms, self.max_future_ms = limits
        #: records to send again after a refusal: (record, with its event time)
        self._refused: list[tuple[Outgoing, bool]] = []

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
                self._send(item, stamp=True)
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
        # A broker with narrower timestamp limits than ours refused some: send them again
        # unstamped, and their batch mates as they were (after later records of the same
        # creator: order is lost for these few).
        rounds = 0
        while self._refused:
            refused, self._refused = self._refused, []
            rounds += 1
            # kafka-python 3.0 keeps failing a partition after a refused timestamp; a new
            # producer does not
            self._producer.close()
            self._producer = self._connect()
            for item, stamp in refused:
                self._send(item, stamp and rounds < 3)
            self._producer.flush()
        if progress is not None:
            progress(sent)
        return self.report

    def _send(self, item: Outgoing, stamp: bool) -> None:
        now = int(time.time() * 1000)
        ts = event_time_ms(item.topic, item.value) if stamp and item.value is not None else None
        if ts is not None and not -self.max_past_ms <= ts - now <= self.max_future_ms:
            ts = None
        if ts is None:
            self.report.unstamped += 1
        headers = [(PUBLISHED_AT_HEADER, str(now).encode())]
        future = self._producer.send(
            item.topic, key=item.key, value=item.value, headers=headers, timestamp_ms=ts
        )
        future.add_callback(self.report.acknowledged)
        future.add_errback(self._maybe_refused if ts is not None else self._failed, item)

    def _maybe_refused(self, item: Outgoing, error: Exception) -> None:
        from kafka.errors import InvalidTimestampError

        text = str(error)
        if isinstance(error, InvalidTimestampError) and "out of range" in text:
            self._refused.append((item, False))
        elif isinstance(error, InvalidTimestampError) or "batch which had one" in text:
            self._refused.append((item, True))  # refused for a batch mate's timestamp
        else:
            self._failed(item, error)

    def _failed(self, item: Outgoing, error: Exception) -> None:
        self.report.failed += 1
        log.warning("record to %s not delivered: %s", item.topic, error)

    def close(self) -> None:
        self._producer.close()
