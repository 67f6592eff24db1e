"""What a batch sends besides rows: dead letters and alerts, acknowledged; and its counts.

Letters and alerts leave through one bounded, acknowledged sender
(``sinks/delivery.py``): the checkpoint drains it before any commit passes the records
they stand for. Counting (metrics and the summary's figures) happens here too, once per
batch, so every engine reports the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from campaignpulse import metrics
from campaignpulse.sinks.dead_letters import Letter, LetterLimits, dead_letter, message, table_row
from campaignpulse.sinks.delivery import AcknowledgedSender, DeliveryFailed
from campaignpulse.streams.authenticity.alerts import AuthenticityAlert
from campaignpulse.streams.contract import DLQ_TOPIC, Reason
from campaignpulse.streams.disclosure import DisclosureAlert
from campaignpulse.streams.pipeline import BatchResult, DeadLetter
from campaignpulse.streams.spikes.alert import ALERTS_TOPIC, SpikeAlert


@dataclass
class WorkerStats:
    """What the demo board, the summary and the bench read; cumulative since start."""

    events: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    rows_written: int = 0
    newest_event_ms: int = -1
    alerts: int = 0
    #: input records read, valid or not: what a restart re-reads shows here
    records: int = 0
    #: records read again that the restored state already covered (after a crash
    #: between a checkpoint and its commit), skipped
    reread: int = 0
    changelog_records: int = 0
    #: bytes of changelog keys and values written
    changelog_bytes: int = 0
    #: perf_counter and process_time when the first record arrived and when the last
    #: flush was committed: the bench times a run between them (0.0 until then)
    first_record_at: float = 0.0
    first_record_cpu: float = 0.0
    last_flush_at: float = 0.0
    last_flush_cpu: float = 0.0
    #: restores: input partitions, changelog records read, seconds
    restored_partitions: int = 0
    restore_records: int = 0
    restore_seconds: float = 0.0

    def letter(self, reason: str) -> None:
        self.dead_letters[reason] = self.dead_letters.get(reason, 0) + 1
        metrics.DEAD_LETTERS.labels(reason).inc()


class Outputs:
    """Dead letters to ``campaignpulse.dlq`` and alerts to ``campaignpulse.alerts``."""

    def __init__(self, producer: Any, limits: LetterLimits, stats: WorkerStats,
                 max_in_flight: int, max_in_flight_bytes: int, retry_for_s: float) -> None:
        self.limits = limits
        self.stats = stats
        #: rows for the ``dead_letters`` table: letters the broker refused for good
        self.undeliverable: list[tuple[Any, ...]] = []
        self._sender = AcknowledgedSender(producer, self._refused, max_in_flight,
                                          max_in_flight_bytes, retry_for_s)

    def count(self, result: BatchResult) -> None:
        """Metrics and summary figures of one processed batch."""
        stats = self.stats
        for (topic, kind), n in result.accepted.items():
            metrics.EVENTS.labels(topic, kind).inc(n)
            stats.events += n
        if result.duplicates:
            metrics.DUPLICATES.inc(result.duplicates)
            stats.duplicates += result.duplicates
        for letter in result.dead_letters:
            stats.letter(str(letter.reason))
            if letter.reason is Reason.LATE:
                metrics.LATE_EVENTS.labels(letter.record.topic).inc()
        now_ms = time.time() * 1000
        for topic, n in result.future.items():
            metrics.FUTURE_EVENTS.labels(topic).inc(n)
        if result.authenticity.late:
            metrics.AUTHENTICITY_LATE.inc(result.authenticity.late)
        if result.authenticity.rows:
            metrics.AUTHENTICITY_BUCKETS.inc(len(result.authenticity.rows))
        for topic, newest in result.newest_event_ms.items():
            metrics.EVENT_LAG.labels(topic).set(max(0.0, (now_ms - newest) / 1000))
            stats.newest_event_ms = max(stats.newest_event_ms, newest)

    async def send(self, result: BatchResult) -> None:
        """The batch's dead letters and alerts, handed to the producer."""
        await self.dead_letters(result.dead_letters)
        await self.alerts(result.alerts, result.disclosure_alerts, result.authenticity.alerts)

    async def dead_letters(self, letters: Iterable[DeadLetter]) -> None:
        """Through the bounded sender: waits when too many await their acknowledgement."""
        send, limits = self._sender.send, self.limits
        for letter in letters:
            record = letter.record
            await send(dead_letter(
                DLQ_TOPIC, (record.topic, record.partition, record.offset), record.key,
                record.value, str(letter.reason), letter.detail, limits,
            ))
        await self._sender.push()

    async def alerts(self, spikes: Iterable[SpikeAlert],
                     disclosures: Iterable[DisclosureAlert] = (),
                     authenticity: Iterable[AuthenticityAlert] = ()) -> None:
        """Each new version of an alert, keyed by creator; counted when it opens."""
        send = self._sender.send
        for alert in spikes:
            if alert.version == 1:
                metrics.SPIKE_ALERTS.labels(alert.severity.value).inc()
                self.stats.alerts += 1
            await send(message(ALERTS_TOPIC, alert.creator_id.encode(), alert.to_json(),
                               f"alert {alert.alert_id} v{alert.version}"))
        campaign: list[tuple[DisclosureAlert | AuthenticityAlert, Counter]] = [
            *((d, metrics.DISCLOSURE_ALERTS) for d in disclosures),
            *((a, metrics.AUTHENTICITY_ALERTS) for a in authenticity),
        ]
        for change, opened in campaign:
            if change.version == 1:
                opened.inc()
            await send(message(ALERTS_TOPIC, change.creator_id.encode(), change.to_json(),
                               f"alert {change.alert_id} v{change.version}"))
        await self._sender.push()

    async def refused_rows(self, letters: Iterable[Letter]) -> None:
        """Rows the warehouse refused as bad data: in ``dead_letters`` already, to the DLQ."""
        for letter in letters:
            metrics.SINK_REJECTED_ROWS.labels(letter.source_topic.split(".", 1)[-1]).inc()
            metrics.DEAD_LETTERS.labels(letter.reason).inc()
            await self._sender.send(letter)

    async def drain(self) -> None:
        """Every letter and alert so far acknowledged (or set aside into ``undeliverable``);
        raises :class:`DeliveryFailed` when Kafka stays unavailable."""
        try:
            await self._sender.drain()
        except DeliveryFailed:
            metrics.ERRORS.labels("dlq").inc()
            raise

    def take_undeliverable(self) -> list[tuple[Any, ...]]:
        rows, self.undeliverable = self.undeliverable, []
        return rows

    def _refused(self, letter: Letter, failure: str) -> None:
        """A letter the broker refuses for good: a ``dead_letters`` row, written next flush."""
        metrics.DEAD_LETTERS_UNDELIVERABLE.labels(letter.topic).inc()
        self.undeliverable.append(table_row(letter, failure, time.time()))
