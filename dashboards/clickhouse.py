"""Queries for the grafana-clickhouse-datasource plugin (v4), which the SDK has no builder for.

The SDK accepts any :class:`Dataquery`; this one carries the plugin's own JSON fields
(``editorType``, ``rawSql``, ``format``, ``queryType``). SQL uses the plugin's macros
(``$__timeFilter(col)``, ``$__timeInterval(col)``, ``$__fromTime``, ``$__toTime``) and
dashboard variables, which the panel tests expand the way the plugin does.
"""

from __future__ import annotations

import typing

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

PLUGIN = "grafana-clickhouse-datasource"
DATASOURCE = dashboard.DataSourceRef(type_val=PLUGIN, uid="campaignpulse-clickhouse")
PROMETHEUS = dashboard.DataSourceRef(type_val="prometheus", uid="campaignpulse-prometheus")

#: the plugin's result formats (sqlds FormatQueryOption)
TIME_SERIES, TABLE = 0, 1


class ClickHouseQuery(cogvariants.Dataquery):
    def __init__(self, ref_id: str = "A", raw_sql: str = "", fmt: int = TABLE) -> None:
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format = fmt

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": DATASOURCE,
            "editorType": "sql",
            "format": self.format,
            "queryType": "timeseries" if self.format == TIME_SERIES else "table",
            "rawSql": self.raw_sql,
        }


class Query(cogbuilder.Builder[ClickHouseQuery]):
    """``Query(sql).time_series()``: a raw SQL target for a ClickHouse panel."""

    def __init__(self, sql: str) -> None:
        self._internal = ClickHouseQuery(raw_sql=sql)

    def build(self) -> ClickHouseQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> typing.Self:
        self._internal.ref_id = ref_id
        return self

    def time_series(self) -> typing.Self:
        self._internal.format = TIME_SERIES
        return self


class _AnnotationTarget(dashboard.AnnotationTarget):
    """An annotation query of the plugin: rows with ``time``, ``timeEnd``, ``text``, ``tags``."""

    def __init__(self, sql: str) -> None:
        super().__init__()
        self.sql = sql

    def to_json(self) -> dict[str, object]:
        return ClickHouseQuery("Anno", self.sql, TABLE).to_json()


class AnnotationTarget(cogbuilder.Builder[dashboard.AnnotationTarget]):
    def __init__(self, sql: str) -> None:
        self._internal = _AnnotationTarget(sql)

    def build(self) -> dashboard.AnnotationTarget:
        return self._internal
