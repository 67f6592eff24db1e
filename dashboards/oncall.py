"""On-call / pipeline health: the worker's and notifier's Prometheus metrics."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard

from campaignpulse.dashboards.clickhouse import PROMETHEUS
from campaignpulse.dashboards.panels import legend

UID = "campaignpulse-oncall"
WORKERS = 'job="campaignpulse-worker"'


@dataclass(frozen=True)
class PromPanel:
    title: str
    expr: str
    legend: str
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    width: int = 8


PANELS: list[PromPanel] = [
    PromPanel("Workers up", f"up{{{WORKERS}}}", "{{instance}}", kind="stat"),
    PromPanel("Events per second by topic and kind",
              "sum by (topic, kind) (rate(campaignpulse_events_total[$__rate_interval]))",
              "{{topic}} {{kind}}", unit="ops"),
    PromPanel("Dead letters per second by reason",
              "sum by (reason) (rate(campaignpulse_dead_letters_total[$__rate_interval]))",
              "{{reason}}", unit="ops"),
    PromPanel("Consumer lag (records)", "sum by (topic) (campaignpulse_consumer_lag_records)",
              "{{topic}}"),
    PromPanel("Event-time lag", "max by (topic) (campaignpulse_event_lag_seconds)",
              "{{topic}}", unit="s"),
    PromPanel("Open windows per worker", "sum by (instance) (campaignpulse_open_windows)",
              "{{instance}}"),
    PromPanel("Sink insert latency p95",
              "histogram_quantile(0.95, sum by (le, table) "
              "(rate(campaignpulse_sink_insert_duration_seconds_bucket[$__rate_interval])))",
              "{{table}}", unit="s"),
    PromPanel("Errors per second by stage",
              "sum by (stage) (rate(campaignpulse_errors_total[$__rate_interval]))",
              "{{stage}}", unit="ops"),
    PromPanel("Follower-spike alerts opened per hour",
              "sum by (severity) (increase(campaignpulse_follower_spike_alerts_total[1h]))",
              "{{severity}}"),
    PromPanel("Notifier posts to Alertmanager per second",
              "sum by (outcome) (rate(campaignpulse_alertmanager_posts_total[$__rate_interval]))",
              "{{outcome}}", unit="ops"),
    PromPanel("Notifier alerts waiting to be delivered",
              "sum(campaignpulse_notifier_pending_alerts)", "pending"),
    PromPanel("Notifier: seconds since the last good post",
              "time() - (max(campaignpulse_notifier_last_success_timestamp_seconds) > 0)",
              "age", unit="s"),
]


def _panel(spec: PromPanel, panel_id: int) -> cogbuilder.Builder[dashboard.Panel]:
    query = (prometheus.Dataquery().expr(spec.expr).legend_format(spec.legend).ref_id("A")
             .datasource(PROMETHEUS))
    panel: stat.Panel | timeseries.Panel
    if spec.kind == "stat":
        panel = stat.Panel()
    else:
        panel = timeseries.Panel().legend(legend()).fill_opacity(10)
    return (
        panel.id(panel_id)
        .title(spec.title)
        .datasource(PROMETHEUS)
        .with_target(query)
        .unit(spec.unit)
        .span(spec.width)
        .height(7)
    )


def build() -> board.Dashboard:
    builder = (
        board.Dashboard("campaignpulse — on-call / pipeline health")
        .uid(UID)
        .tags(["campaignpulse", "on-call"])
        .time("now-3h", "now")
        .refresh("10s")
    )
    for i, spec in enumerate(PANELS, start=1):
        builder = builder.with_panel(_panel(spec, i))
    return builder
