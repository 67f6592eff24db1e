"""``campaignpulse bench --read``: how fast the campaign board answers.

Fills a warehouse (``bench_fill.py``), then runs every query of the committed board JSON
(variables, annotations, panels) with the macros expanded as Grafana's ClickHouse plugin
does, over the last hour, day and week, for "All", one campaign and one creator. Each
query runs once to warm up, then ``runs`` times; the table shows the median, and the rows
read from tables and returned for the week.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from campaignpulse.bench_fill import Shape, fill, sizes, start_merges
from campaignpulse.dashboards.macros import Choice, all_values, expand, interval_s
from campaignpulse.errors import UserError
from campaignpulse.sinks.hour_rollups import MIN_VERSION
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, ServerWarehouse, migrate

BOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards" / "campaigns.json"
RANGES = (("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400))
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


@dataclass(frozen=True)
class BoardQuery:
    name: str
    sql: str
    min_interval_s: int = 0


@dataclass(frozen=True)
class Timing:
    query: str
    selection: str
    range: str
    median_ms: float
    #: CPU time of this process (the embedded engine's threads; 0 for a server)
    cpu_ms: float
    rows_read: int
    rows: int


def _cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def board_queries(board: dict[str, Any]) -> list[BoardQuery]:
    """Every ClickHouse query a browser sends for the board: variables, annotations,
    panel targets."""
    queries = [BoardQuery(f"variable {v['name']}", v["query"])
               for v in board.get("templating", {}).get("list", [])]
    queries += [BoardQuery(f"annotation {a['name']}", a["target"]["rawSql"])
                for a in board.get("annotations", {}).get("list", []) if "target" in a]
    for panel in board["panels"]:
        interval = panel.get("interval") or "0s"
        for target in panel.get("targets", []):
            queries.append(BoardQuery(panel["title"], target["rawSql"],
                                      int(interval[:-1]) * _UNITS[interval[-1]]))
    return queries


def _selections(warehouse: Any, everything: dict[str, str]) -> dict[str, dict[str, Choice]]:
    """All; the campaign with the most creators; one of its creators."""
    [row] = warehouse.query(
        "SELECT campaign_id, min(creator_id) AS first_creator, uniqExact(creator_id) AS n "
        "FROM creator_windows WHERE campaign_id != '' GROUP BY campaign_id "
        "ORDER BY n DESC, campaign_id LIMIT 1")
    return {"all": dict(everything),
            "campaign": {**everything, "campaign": [row["campaign_id"]]},
            "creator": {**everything, "creator": [row["first_creator"]]}}


def time_queries(warehouse: Any, board: dict[str, Any], now_s: int, runs: int,
                 ranges: tuple[tuple[str, int], ...] = RANGES) -> Iterator[Timing]:
    chosen = _selections(warehouse, all_values(board))
    for query in board_queries(board):
        for selection, variables in chosen.items():
            for label, seconds in ranges:
                sql = expand(query.sql, now_s - seconds, now_s,
                             interval_s(seconds, query.min_interval_s), variables)
                warehouse.query_stats(sql)  # warm
                times, cpu = [], []
                for _ in range(runs):
                    started, cpu_started = time.perf_counter(), _cpu_s()
                    rows, read = warehouse.query_stats(sql)
                    times.append(time.perf_counter() - started)
                    cpu.append(_cpu_s() - cpu_started)
                yield Timing(query.name, selection, label, statistics.median(times) * 1000,
                             statistics.median(cpu) * 1000, read, rows)


def report(timings: list[Timing], ranges: tuple[tuple[str, int], ...] = RANGES) -> Table:
    widest = ranges[-1][0]
    table = Table(title=f"median ms of warm runs; at {widest}: CPU ms of this process (the "
                        "embedded engine), rows read and returned", title_justify="left")
    table.add_column("query")
    table.add_column("selection")
    for label, _ in ranges:
        table.add_column(label, justify="right")
    table.add_column(f"{widest} cpu", justify="right")
    table.add_column(f"{widest} rows read", justify="right")
    table.add_column(f"{widest} rows", justify="right")
    cells: dict[tuple[str, str], dict[str, Timing]] = {}
    for t in timings:
        cells.setdefault((t.query, t.selection), {})[t.range] = t
    for (query, selection), by_range in cells.items():
        last = by_range[widest]
        table.add_row(query, selection, *(f"{by_range[label].median_ms:,.1f}"
                                          for label, _ in ranges),
                      f"{last.cpu_ms:,.1f}", f"{last.rows_read:,}", f"{last.rows:,}")
    return table


def run_read_bench(days: int, creators: int, clickhouse_url: str | None, runs: int) -> int:
    from campaignpulse.board import stdout_console

    if days < 1 or creators < 1:
        raise UserError("--days and --creators must be at least 1")
    board = json.loads(BOARD.read_text())
    ranges = tuple((label, s) for label, s in RANGES if s <= days * 86_400)
    console = stdout_console()
    now_s = int(time.time())
    shape = Shape(creators=creators, days=days, end_hour_s=now_s // 3600 * 3600)
    with _warehouse(clickhouse_url) as warehouse:
        migrate(warehouse)
        started = time.perf_counter()
        fill(warehouse, shape)
        filled_s = time.perf_counter() - started
        try:
            tables = sizes(warehouse)
            load = os.getloadavg()
            timings = list(time_queries(warehouse, board, now_s, runs, ranges))
            load_after = os.getloadavg()
        finally:
            start_merges(warehouse)
    console.print(f"filled {creators:,} creators × {days} days in {filled_s:,.0f} s: "
                  + ", ".join(f"{name} {t['rows']:,} rows / {t['parts']} parts"
                              for name, t in sorted(tables.items())))
    console.print(report(timings, ranges))
    worst = max(timings, key=lambda t: t.median_ms)
    console.print(f"worst: {worst.query} ({worst.selection}, {worst.range}) "
                  f"{worst.median_ms:,.1f} ms; load average {load[0]:.2f} before, "
                  f"{load_after[0]:.2f} after; {runs} runs per query")
    print(json.dumps({
        "creators": creators, "days": days, "runs": runs, "fill_s": round(filled_s, 1),
        "tables": tables, "load_avg_1m": [round(load[0], 2), round(load_after[0], 2)],
        "worst_ms": round(worst.median_ms, 1),
        "worst": f"{worst.query} / {worst.selection} / {worst.range}",
        "timings": [{"query": t.query, "selection": t.selection, "range": t.range,
                     "median_ms": round(t.median_ms, 1), "cpu_ms": round(t.cpu_ms, 1),
                     "rows_read": t.rows_read,
                     "rows": t.rows} for t in timings],
    }))
    return 0


@contextmanager
def _warehouse(url: str | None) -> Iterator[EmbeddedWarehouse | ServerWarehouse]:
    """The embedded engine in a temporary directory, or an empty server database."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="campaignpulse-bench-") as data_dir:
            embedded = EmbeddedWarehouse(data_dir)
            try:
                yield embedded
            finally:
                embedded.close()
        return
    server = ServerWarehouse(url)
    try:
        version = server.server_version()
        if version < MIN_VERSION:
            need = ".".join(map(str, MIN_VERSION))
            raise UserError(f"the board needs ClickHouse >= {need}; this server is "
                            f"{version[0]}.{version[1]}")
        held = server.query("SELECT count() AS n FROM system.tables "
                            "WHERE database = currentDatabase()")
        if int(held[0]["n"]):
            raise UserError("bench --read fills the database of --clickhouse-url: give it an "
                            "empty one (CREATE DATABASE bench)")
        yield server
    finally:
        server.close()
