"""``campaignpulse migrate``: create what is missing and move the rows of older layouts.

Every step can run again, and several workers starting at once may run it together: tables
and views are created IF NOT EXISTS; a derived table created now is filled from its source
(a row filled twice is the same row); rows of a replaced table are copied, counted, and the
old table renamed only when every row arrived. Nothing is ever dropped but views.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from campaignpulse.sinks import hour_rollups
from campaignpulse.sinks.cluster import check_cluster, current_database, on_cluster
from campaignpulse.sinks.schema import (
    BACKFILLS,
    COLUMN_CHANGES,
    STALE_VIEW_TEXT,
    TABLE_MOVES,
    TableMove,
    migrations,
    object_name,
    views,
)

if TYPE_CHECKING:
    from campaignpulse.sinks.warehouse import Warehouse

log = logging.getLogger(__name__)

# Filled with the schema's own constants only.
TABLES_SQL = "SELECT name FROM system.tables WHERE database = currentDatabase()"
VIEW_SQL = ("SELECT create_table_query AS q FROM system.tables "
            "WHERE database = currentDatabase() AND name = '{}'")
COUNT_SQL = "SELECT count() AS n FROM {} WHERE {}"
PENDING_MUTATIONS_SQL = (
    "SELECT count() AS n FROM system.mutations WHERE database = currentDatabase() "
    "AND table = '{}' AND is_done = 0"
)
COLUMN_TYPE_SQL = (
    "SELECT type FROM system.columns WHERE database = currentDatabase() "
    "AND table = '{}' AND name = '{}'"
)


def migrate(warehouse: Warehouse, cluster: str | None = None) -> list[str]:
    """Bring the warehouse to the current layout; returns the statements run.

    With ``cluster``, every node of that ClickHouse cluster (sinks/cluster.py)."""
    version = warehouse.server_version()
    existing = tables(warehouse)
    schema: list[str] = []
    current_views = {object_name(v) for v in views(version)}
    for name in sorted(current_views & existing):
        stored = warehouse.query(VIEW_SQL.format(name))
        if stored and any(text in stored[0]["q"] for text in STALE_VIEW_TEXT):
            schema.append(f"DROP VIEW IF EXISTS {name}")
    schema.extend(migrations(version))
    if cluster is not None:
        check_cluster(warehouse, cluster)
        schema = on_cluster(schema, cluster, current_database(warehouse))
    done = [_run(warehouse, statement) for statement in schema]
    for table, fill in BACKFILLS.items():
        if table not in existing:
            done.append(_run(warehouse, fill))
    for move in TABLE_MOVES:
        if move.table in existing:
            done.extend(_move_once(warehouse, move))
    # derived from the (moved) engagement rows, so filled after the moves
    if "creator_hours" not in existing and version >= hour_rollups.MIN_VERSION:
        done.extend(_run(warehouse, statement) for statement in hour_rollups.BACKFILL)
    for change in COLUMN_CHANGES:
        current = warehouse.query(COLUMN_TYPE_SQL.format(change.table, change.column))
        if current and current[0]["type"] != change.new_type:
            done.extend(_run(warehouse, statement) for statement in change.statements)
            _await_mutations(warehouse, change.table)
    return done


def tables(warehouse: Warehouse) -> set[str]:
    return {row["name"] for row in warehouse.query(TABLES_SQL)}


def _move_once(warehouse: Warehouse, move: TableMove) -> list[str]:
    """Another worker starting at the same time may have moved the table meanwhile: its
    rows are then in the new tables (a row copied twice is the same row)."""
    try:
        return move_rows(warehouse, move)
    except Exception:
        if move.table in tables(warehouse):
            raise
        log.info("%s was moved by another migrate", move.table)
        return []


def move_rows(warehouse: Warehouse, move: TableMove) -> list[str]:
    """Copy the old table's rows (every version of every grain) into its successors,
    check that each arrived, then rename the old table out of the way."""
    done = []
    for target, columns, where in move.targets:
        had = _count(warehouse, target, "1")
        rows = _count(warehouse, move.table, where)
        listed = ", ".join(columns)
        done.append(_run(warehouse, f"INSERT INTO {target} ({listed}) "  # noqa: S608
                                    f"SELECT {listed} FROM {move.table} WHERE {where}"))
        arrived = _count(warehouse, target, "1") - had
        if arrived < rows:
            raise RuntimeError(f"moving {move.table} into {target}: {arrived:,} of {rows:,} "
                               f"rows arrived; {move.table} is left as it was")
        log.info("moved %s rows of %s into %s", f"{rows:,}", move.table, target)
    kept = _free_name(warehouse, move.table)
    done.append(_run(warehouse, f"RENAME TABLE {move.table} TO {kept}"))
    return done


def kept_tables(warehouse: Warehouse) -> list[str]:
    """Old tables a move renamed and left for the operator to drop."""
    names = tables(warehouse)
    return sorted(n for n in names for m in TABLE_MOVES if n.startswith(f"{m.table}_v"))


def _free_name(warehouse: Warehouse, table: str) -> str:
    """``<table>_v1``, or the next number if an earlier move kept that name."""
    taken = tables(warehouse)
    n = 1
    while f"{table}_v{n}" in taken:
        n += 1
    return f"{table}_v{n}"


def _count(warehouse: Warehouse, table: str, where: str) -> int:
    return int(warehouse.query(COUNT_SQL.format(table, where))[0]["n"])


def _run(warehouse: Warehouse, statement: str) -> str:
    warehouse.execute(statement)
    return statement


def _await_mutations(warehouse: Warehouse, table: str, timeout_s: float = 60.0) -> None:
    """ALTER ... UPDATE runs in the background (18.16 has no mutations_sync): wait for it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = warehouse.query(PENDING_MUTATIONS_SQL.format(table))
        if not int(running[0]["n"]):
            return
        time.sleep(0.2)
    raise TimeoutError(f"the migration of {table} is still running after {timeout_s:g}s")
