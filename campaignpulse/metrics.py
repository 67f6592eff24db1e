"""Pipeline health for Prometheus: base units, ``_total`` counters, no per-creator labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "campaignpulse_events", "Input events accepted, by topic and kind", ["topic", "kind"]
)
DEAD_LETTERS = Counter(
    "campaignpulse_dead_letters", "Records sent to the dead-letter topic, by reason", ["reason"]
)
LATE_EVENTS = Counter(
    "campaignpulse_late_events", "Events older than the allowed lateness", ["topic"]
)
DUPLICATES = Counter("campaignpulse_duplicate_events", "Repeated event_ids counted once")
EVENT_LAG = Gauge(
    "campaignpulse_event_lag_seconds",
    "Wall clock minus the newest event time written, by topic",
    ["topic"],
)
SINK_ROWS = Counter("campaignpulse_sink_rows", "Rows written to the warehouse", ["table"])
SINK_BATCHES = Counter("campaignpulse_sink_batches", "Insert batches written", ["table"])
SINK_SECONDS = Histogram(
    "campaignpulse_sink_insert_duration_seconds", "Time per warehouse insert", ["table"]
)
CONSUMER_BATCHES = Counter("campaignpulse_consumer_batches", "Micro-batches consumed")
ERRORS = Counter("campaignpulse_errors", "Failures by stage (sink, dlq, commit)", ["stage"])
SPIKE_ALERTS = Counter(
    "campaignpulse_follower_spike_alerts", "Follower-spike alerts opened, by severity", ["severity"]
)
ALERT_DELIVERIES = Counter(
    "campaignpulse_alertmanager_posts", "Posts to Alertmanager, by outcome", ["outcome"]
)
COPARTITION_MISMATCHES = Counter(
    "campaignpulse_copartition_mismatches",
    "Follower snapshots whose creator's interactions came on another partition number "
    "(producers with different partitioners)",
)
OPEN_WINDOWS = Gauge("campaignpulse_open_windows", "Event-time windows held in memory")
FUTURE_EVENTS = Counter(
    "campaignpulse_future_events",
    "Events kept whose time is ahead of their record's clock (they move no watermark)",
    ["topic"],
)
DEAD_LETTERS_UNDELIVERABLE = Counter(
    "campaignpulse_dead_letters_undeliverable",
    "Letters (and alerts) the broker refused for good, recorded in the dead_letters table",
    ["topic"],
)
SINK_REJECTED_ROWS = Counter(
    "campaignpulse_sink_rejected_rows",
    "Rows the warehouse refused as bad data, set aside in dead_letters and the DLQ",
    ["table"],
)
CHANGELOG_RECORDS = Counter(
    "campaignpulse_changelog_records", "State changelog records written (acknowledged)"
)
RESTORE_SECONDS = Counter(
    "campaignpulse_restore_seconds", "Seconds spent restoring state from the changelog"
)
RESTORE_RECORDS = Counter(
    "campaignpulse_restore_records", "State changelog records read to restore state"
)
RESTORED_PARTITIONS = Counter(
    "campaignpulse_restored_partitions",
    "Input partitions whose state was restored (at start or when gained in a rebalance)",
)
SINK_RETRIES = Counter(
    "campaignpulse_sink_retries", "Flushes retried after a transient warehouse error"
)


def observe_insert(table: str, rows: int, seconds: float) -> None:
    SINK_ROWS.labels(table).inc(rows)
    SINK_BATCHES.labels(table).inc()
    SINK_SECONDS.labels(table).observe(seconds)

# --- consumer lag and the notifier (added with the alerting rules) ---

CONSUMER_LAG = Gauge(
    "campaignpulse_consumer_lag_records",
    "Records behind the log end (high-water mark minus position), summed over the "
    "partitions this worker holds, by topic",
    ["topic"],
)
NOTIFIER_ALERTS_READ = Counter(
    "campaignpulse_notifier_alerts_read", "Alert versions the notifier read from the alerts topic"
)
NOTIFIER_PENDING = Gauge(
    "campaignpulse_notifier_pending_alerts", "Alert payloads waiting for a successful post"
)
NOTIFIER_LAST_SUCCESS = Gauge(
    "campaignpulse_notifier_last_success_timestamp_seconds",
    "Unix time of the last post Alertmanager accepted",
)

#: stages that count in campaignpulse_errors_total
ERROR_STAGES = ("sink", "dlq", "commit", "notify", "definitions", "changelog", "restore")
#: tables the worker writes
SINK_TABLES = (
    "media_windows", "creator_windows", "media", "follower_snapshots", "follower_spike_alerts",
    "dead_letters", "campaigns", "campaign_kpi_hours", "campaign_kpi_to_date",
    "contest_performance", "contest_entries_minute", "disclosure_alerts",
)


class _Offsets(Protocol):
    def highwater(self, tp: Any) -> int | None: ...


def observe_consumer_lag(consumer: _Offsets | None, positions: Mapping[Any, int]) -> None:
    """Once per batch: high-water mark minus the next offset to read, per topic.

    ``positions`` maps each held (topic, partition) to its next offset; partitions whose
    high-water mark is not known yet (no fetch answered) are left out.
    """
    if consumer is None:
        return
    lag: dict[str, int] = {}
    for tp, position in positions.items():
        end = consumer.highwater(tp)
        if end is not None:
            lag[tp[0]] = lag.get(tp[0], 0) + max(0, end - position)
    for topic, records in lag.items():
        CONSUMER_LAG.labels(topic).set(records)


def preset_worker_series() -> None:
    """Every known label value exported at zero from the start, so rate() and absent()
    rules see a series before the first event, error or dead letter."""
    from campaignpulse.streams.contract import INPUT_TOPICS, INTERACTIONS_TOPIC, KINDS, Reason
    from campaignpulse.streams.spikes.alert import Severity

    for topic in INPUT_TOPICS:
        for kind in KINDS if topic == INTERACTIONS_TOPIC else ("",):
            EVENTS.labels(topic, kind)
        LATE_EVENTS.labels(topic)
    for reason in Reason:
        DEAD_LETTERS.labels(reason.value)
    for stage in ERROR_STAGES:
        ERRORS.labels(stage)
    for table in SINK_TABLES:
        SINK_ROWS.labels(table)
        SINK_BATCHES.labels(table)
        SINK_SECONDS.labels(table)
    for severity in Severity:
        SPIKE_ALERTS.labels(severity.value)


def preset_notifier_series() -> None:
    for outcome in ("ok", "error"):
        ALERT_DELIVERIES.labels(outcome)
    ERRORS.labels("notify")
DISCLOSURE_ALERTS = Counter(
    "campaignpulse_disclosure_alerts", "disclosure_missing alerts opened (one per media)"
)
