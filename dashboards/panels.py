"""Panel specs shared by the boards: one small record per ClickHouse panel.

A board is a list of :class:`SqlPanel`; the panel tests run every spec's SQL on seeded
data and check its ``columns``, so adding a panel is adding one entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders import common, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard

from campaignpulse.dashboards.clickhouse import DATASOURCE, Query


@dataclass(frozen=True)
class SqlPanel:
    title: str
    sql: str
    #: columns every row must carry (the time series' value columns included)
    columns: tuple[str, ...]
    kind: str = "timeseries"  # or "table"
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8
    #: series name in the legend, e.g. "${__field.labels.campaign}"
    legend: str | None = None
    #: the smallest bucket Grafana may ask for ($__interval); hourly data needs "1h"
    min_interval: str | None = None


def legend() -> common.VizLegendOptions:
    return (
        common.VizLegendOptions()
        .show_legend(True)
        .display_mode(common_models.LegendDisplayMode.TABLE)
        .placement(common_models.LegendPlacement.BOTTOM)
        .calcs(["mean", "lastNotNull", "max"])
    )


def build_panel(spec: SqlPanel, panel_id: int) -> cogbuilder.Builder[dashboard.Panel]:
    query = Query(spec.sql)
    if spec.kind == "table":
        panel: timeseries.Panel | table.Panel = table.Panel()
    else:
        query = query.time_series()
        panel = timeseries.Panel().legend(legend()).fill_opacity(10).span_nulls(False)
        if spec.legend:
            panel = panel.display_name(spec.legend)
    panel = (
        panel.id(panel_id)
        .title(spec.title)
        .datasource(DATASOURCE)
        .with_target(query)
        .unit(spec.unit)
        .span(spec.width)
        .height(spec.height)
    )
    if spec.description:
        panel = panel.description(spec.description)
    if spec.min_interval:
        panel = panel.interval(spec.min_interval)
    return panel
