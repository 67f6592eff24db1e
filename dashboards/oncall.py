"""On-call / pipeline health: the worker's and notifier's Prometheus metrics."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard

from campaignpulse.dashboards.clickhouse import PROMETHEUS
from campaignpulse.dashboards.panels import legend
from campaignpulse.dashboards.variables import multi_value

UID = "campaignpulse-oncall"
#: the series of the chosen jobs and instances (variables ``job`` and ``instance``)
CHOSEN = 'job=~"$job", instance=~"$instance"'


@dataclass(frozen=True)
class PromPanel:
    title: str
    expr: str
    legend: str
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    width: int = 8


def _chosen(metric: str) -> str:
    return f"{metric}{{{CHOSEN}}}"


def _rate(metric: str) -> str:
    return f"rate({_chosen(metric)}[$__rate_interval])"


PANELS: list[PromPanel] = [
    PromPanel("Workers up", _chosen("up"), "{{instance}}", kind="stat"),
    PromPanel("Events per second by topic and kind",
              f"sum by (topic, kind) ({_rate('campaignpulse_events_total')})",
              "{{topic}} {{kind}}", unit="ops"),
    PromPanel("Dead letters per second by reason",
              f"sum by (reason) ({_rate('campaignpulse_dead_letters_total')})",
              "{{reason}}", unit="ops"),
    PromPanel("Consumer lag (records)",
              f"sum by (topic) ({_chosen('campaignpulse_consumer_lag_records')})", "{{topic}}"),
    PromPanel("Event-time lag",
              f"max by (topic) ({_chosen('campaignpulse_event_lag_seconds')})", "{{topic}}",
              unit="s"),
    PromPanel("Open windows per worker",
              f"sum by (instance) ({_chosen('campaignpulse_open_windows')})", "{{instance}}"),
    PromPanel("Sink insert latency p95",
              "histogram_quantile(0.95, sum by (le, table) "
              f"({_rate('campaignpulse_sink_insert_duration_seconds_bucket')}))",
              "{{table}}", unit="s"),
    PromPanel("Errors per second by stage",
              f"sum by (stage) ({_rate('campaignpulse_errors_total')})", "{{stage}}", unit="ops"),
    PromPanel("Follower-spike alerts opened per hour",
              "sum by (severity) "
              f"(increase({_chosen('campaignpulse_follower_spike_alerts_total')}[1h]))",
              "{{severity}}"),
    PromPanel("Notifier posts to Alertmanager per second",
              f"sum by (outcome) ({_rate('campaignpulse_alertmanager_posts_total')})",
              "{{outcome}}", unit="ops"),
    PromPanel("Notifier alerts waiting to be delivered",
              f"sum({_chosen('campaignpulse_notifier_pending_alerts')})", "pending"),
    PromPanel("Notifier: seconds since the last good post",
              "time() - "
              f"(max({_chosen('campaignpulse_notifier_last_success_timestamp_seconds')}) > 0)",
              "age", unit="s"),
]

#: (name, label, query): Prometheus label values, "All" matching every value
VARIABLES = (
    ("job", "Job", 'label_values(up{job=~"campaignpulse-.*"}, job)'),
    ("instance", "Instance", 'label_values(up{job=~"$job"}, instance)'),
)


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
    for name, label, query in VARIABLES:
        builder = builder.with_variable(multi_value(name, label, PROMETHEUS, query, ".*"))
    for i, spec in enumerate(PANELS, start=1):
        builder = builder.with_panel(_panel(spec, i))
    return builder
