"""The boards' query variables: several values or "All", refreshed with the time range."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.models import dashboard


def multi_value(name: str, label: str, datasource: dashboard.DataSourceRef, query: str,
                all_value: str) -> board.QueryVariable:
    """``all_value`` is what "All" inserts (instead of every value listed)."""
    return (
        board.QueryVariable(name)
        .label(label)
        .datasource(datasource)
        .query(query)
        .multi(True)
        .include_all(True)
        .all_value(all_value)
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
        .current(dashboard.VariableOption(text="All", value="$__all", selected=True))
    )
