"""Pipeline health for Prometheus: base units, ``_total`` counters, no per-creator labels."""

from __future__ import annotations

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
OPEN_WINDOWS = Gauge("campaignpulse_open_windows", "Event-time windows held in memory")


def observe_insert(table: str, rows: int, seconds: float) -> None:
    SINK_ROWS.labels(table).inc(rows)
    SINK_BATCHES.labels(table).inc()
    SINK_SECONDS.labels(table).observe(seconds)
DISCLOSURE_ALERTS = Counter(
    "campaignpulse_disclosure_alerts", "disclosure_missing alerts opened (one per media)"
)
