"""The ClickHouse plugin's macro and variable expansion, as Grafana and the plugin (v4) do it,
so the tests and ``campaignpulse bench --read`` run the boards' SQL as a browser would.

``$__timeFilter(c)`` -> ``c >= toDateTime(from) AND c <= toDateTime(to)``;
``$__timeInterval(c)`` -> ``toStartOfInterval(toDateTime(c), INTERVAL n second)``;
``$__fromTime``/``$__toTime`` -> ``toDateTime(s)``; ``$__interval_s`` -> n;
``${var:singlequote}`` -> ``'a','b'`` (Grafana escapes quotes with a backslash), and "All"
with a custom all value -> that value as written (Grafana does not format it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: a variable's value: the chosen options, or the raw text of a custom all value
Choice = Sequence[str] | str


def expand(sql: str, from_s: int, to_s: int, interval_s: int = 3600,
           variables: Mapping[str, Choice] | None = None) -> str:
    sql = re.sub(r"\$__timeFilter\(([^()]+)\)",
                 lambda m: f"{m[1]} >= toDateTime({from_s}) AND {m[1]} <= toDateTime({to_s})",
                 sql)
    sql = re.sub(r"\$__timeInterval\(([^()]+)\)",
                 lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL {interval_s} second)",
                 sql)
    sql = (sql.replace("$__fromTime", f"toDateTime({from_s})")
           .replace("$__toTime", f"toDateTime({to_s})")
           .replace("$__interval_s", str(interval_s)))
    for name, value in (variables or {}).items():
        if isinstance(value, str):
            text = value
        else:
            text = ",".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in value)
        sql = sql.replace(f"${{{name}:singlequote}}", text)
    leftover = re.findall(r"\$\{?\w+", sql)
    if leftover:
        raise ValueError(f"unexpanded {leftover} in {sql}")
    return sql


def all_values(board: Mapping[str, Any]) -> dict[str, str]:
    """Each variable's custom all value, from the dashboard JSON."""
    return {v["name"]: v["allValue"] for v in board.get("templating", {}).get("list", [])
            if v.get("allValue") is not None}


#: Grafana's interval rounding (rangeutil.roundInterval): upper bound -> interval, in ms
_ROUNDED = ((15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1_500, 1_000),
            (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000),
            (25_000, 20_000), (45_000, 30_000), (90_000, 60_000), (150_000, 120_000),
            (270_000, 240_000), (450_000, 300_000), (750_000, 600_000), (1_050_000, 900_000),
            (1_500_000, 1_200_000), (2_700_000, 1_800_000), (5_400_000, 3_600_000),
            (9_000_000, 7_200_000), (16_200_000, 10_800_000), (27_000_000, 21_600_000),
            (86_400_000, 43_200_000), (604_800_000, 86_400_000))


def interval_s(range_s: int, min_interval_s: int = 0, max_data_points: int = 900) -> int:
    """The ``$__interval`` Grafana asks for: the range over the panel's data points,
    rounded, never below the panel's minimum interval."""
    raw_ms = range_s * 1000 / max_data_points
    rounded = next((to for below, to in _ROUNDED if raw_ms < below), 604_800_000)
    return max(rounded // 1000, min_interval_s)
