"""The ClickHouse plugin's macro and variable expansion, as the plugin does it (v4).

``$__timeFilter(c)`` -> ``c >= toDateTime(from) AND c <= toDateTime(to)``;
``$__timeInterval(c)`` -> ``toStartOfInterval(toDateTime(c), INTERVAL n second)``;
``$__fromTime``/``$__toTime`` -> ``toDateTime(s)``; ``$__interval_s`` -> n;
``${var:singlequote}`` -> ``'a','b'`` (Grafana escapes quotes with a backslash).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence


def expand(sql: str, from_s: int, to_s: int, interval_s: int = 3600,
           variables: Mapping[str, Sequence[str]] | None = None) -> str:
    sql = re.sub(r"\$__timeFilter\(([^()]+)\)",
                 lambda m: f"{m[1]} >= toDateTime({from_s}) AND {m[1]} <= toDateTime({to_s})",
                 sql)
    sql = re.sub(r"\$__timeInterval\(([^()]+)\)",
                 lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL {interval_s} second)",
                 sql)
    sql = (sql.replace("$__fromTime", f"toDateTime({from_s})")
           .replace("$__toTime", f"toDateTime({to_s})")
           .replace("$__interval_s", str(interval_s)))
    for name, values in (variables or {}).items():
        quoted = ",".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
        sql = sql.replace(f"${{{name}:singlequote}}", quoted)
    leftover = re.findall(r"\$\{?\w+", sql)
    assert not leftover, f"unexpanded {leftover} in {sql}"
    return sql
