"""The campaign managers' live engagement board.

Queries use the ClickHouse plugin's time macros (``$__fromTime``/``$__toTime``), which
the tests replace with literals and run on a real engine, so a renamed column breaks
a test rather than a dashboard.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "campaignpulse-clickhouse"}
PROMETHEUS = {"type": "prometheus", "uid": "campaignpulse-prometheus"}

SQL_PANELS: list[tuple[str, str, str]] = [
    (
        "Interactions per minute by campaign",
        "timeseries",
        "SELECT window_start AS time, if(campaign_id = '', 'organic', campaign_id) AS campaign, "
        "sum(interactions) AS total_interactions FROM engagement_minute "
        "WHERE media_id = '' AND window_start >= $__fromTime AND window_start < $__toTime "
        "GROUP BY time, campaign ORDER BY time",
    ),
    (
        "Top creators by engagement rate (last hour window)",
        "table",
        "SELECT creator_id, sum(interactions) AS total_interactions, "
        "max(followers) AS latest_followers, "
        "total_interactions / latest_followers AS engagement_rate FROM engagement_hour "
        "WHERE media_id = '' AND window_start >= $__fromTime AND window_start < $__toTime "
        "GROUP BY creator_id HAVING latest_followers > 0 ORDER BY engagement_rate DESC LIMIT 20",
    ),
    (
        "Engagement rate by reach, stories and reels",
        "timeseries",
        "SELECT window_start AS time, sum(interactions) / nullIf(sum(reach), 0) AS rate "
        "FROM engagement_hour WHERE media_id = '' AND window_start >= $__fromTime "
        "AND window_start < $__toTime GROUP BY time ORDER BY time",
    ),
    (
        "Follower spikes (current state of each alert)",
        "table",
        "SELECT started_at, creator_id, status, severity, observed_growth, "
        "round(expected_growth) AS expected_growth, arrayStringConcat(reasons, ', ') AS reasons, "
        "arrayStringConcat(innocent_causes, ', ') AS innocent_causes, "
        "arrayStringConcat(campaign_ids, ', ') AS campaigns FROM follower_spike_alerts FINAL "
        "WHERE started_at >= $__fromTime AND started_at < $__toTime "
        "ORDER BY status = 'firing' DESC, started_at DESC LIMIT 50",
    ),
]

PROMQL_PANELS: list[tuple[str, str]] = [
    ("Events per second", "sum by (topic) (rate(campaignpulse_events_total[1m]))"),
    ("Dead letters per second", "sum by (reason) (rate(campaignpulse_dead_letters_total[5m]))"),
    ("Event-time lag (s)", "max by (topic) (campaignpulse_event_lag_seconds)"),
    ("Spike alerts opened per hour",
     "sum by (severity) (increase(campaignpulse_follower_spike_alerts_total[1h]))"),
]


def build() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    for i, (title, kind, sql) in enumerate(SQL_PANELS):
        panels.append({
            "id": len(panels) + 1, "title": title, "type": kind, "datasource": CLICKHOUSE,
            "gridPos": {"x": (i % 2) * 12, "y": (i // 2) * 8, "w": 12, "h": 8},
            "targets": [{"refId": "A", "datasource": CLICKHOUSE, "editorType": "sql",
                         "format": 1 if kind == "table" else 0, "rawSql": sql}],
        })
    base_y = ((len(SQL_PANELS) + 1) // 2) * 8
    for i, (title, expr) in enumerate(PROMQL_PANELS):
        panels.append({
            "id": len(panels) + 1, "title": title, "type": "timeseries", "datasource": PROMETHEUS,
            "gridPos": {"x": (i % 3) * 8, "y": base_y + (i // 3) * 6, "w": 8, "h": 6},
            "targets": [{"refId": "A", "datasource": PROMETHEUS, "expr": expr}],
        })
    return {
        "uid": "campaignpulse-engagement", "title": "campaignpulse — live engagement",
        "schemaVersion": 39, "refresh": "10s", "time": {"from": "now-6h", "to": "now"},
        "tags": ["campaignpulse"], "panels": panels,
    }


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/grafana/dashboards")
    out.mkdir(parents=True, exist_ok=True)
    (out / "engagement.json").write_text(json.dumps(build(), indent=2) + "\n")


if __name__ == "__main__":
    main()
