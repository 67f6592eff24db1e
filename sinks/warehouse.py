"""Two ways to reach ClickHouse behind one small interface.

A ClickHouse server through clickhouse-driver (native protocol, retries across
restarts) and the embedded chdb engine in a data directory. Values always travel as
data (bound parameters or a row format), never spliced into SQL text.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlparse

import orjson

from campaignpulse.sinks.migrations import migrate as migrate  # the CLI's and tests' import

log = logging.getLogger(__name__)
T = TypeVar("T")
Row = Sequence[Any]
#: the driver's connect and ping timeout, and how long one request may take
CONNECT_TIMEOUT_S = 3
SEND_RECEIVE_TIMEOUT_S = 30


class Warehouse(Protocol):
    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def execute(self, sql: str) -> None: ...

    def server_version(self) -> tuple[int, int]: ...

    def close(self) -> None: ...


def holds_warehouse(data_dir: str) -> bool:
    """Whether ``data_dir`` is an embedded warehouse; looking creates nothing."""
    tables = Path(data_dir) / "metadata" / "default"
    # engagement_windows: the older layout, which migrate moves
    return any((tables / f"{name}.sql").is_file()
               for name in ("creator_windows", "engagement_windows"))


class WarehouseInUse(RuntimeError):
    """Another process has the embedded warehouse open (chdb allows one per directory)."""

    def __init__(self, data_dir: str) -> None:
        super().__init__(f"another process holds the embedded warehouse in {data_dir}")
        self.data_dir = data_dir


def held_elsewhere(data_dir: str) -> bool:
    """Whether another process holds ``data_dir``'s lock (ClickHouse's ``status`` file,
    flock'ed while a server or chdb session has the directory open)."""
    import fcntl

    status = Path(data_dir) / "status"
    try:
        with status.open("rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
    except FileNotFoundError:
        return False
    return False


class EmbeddedWarehouse:
    """chdb in a directory: a real ClickHouse engine in-process, for the demo and tests."""

    def __init__(self, data_dir: str) -> None:
        from chdb import session

        if held_elsewhere(data_dir):  # chdb would only print it and fail obscurely
            raise WarehouseInUse(data_dir)

        self._session = session.Session(data_dir)
        self._lock = threading.Lock()

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        body = _compact_columns(len(columns), rows)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) FORMAT JSONCompactColumns\n"
        with self._lock:
            self._session.query(sql + body.decode())

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        with self._lock:
            result = self._session.query(sql, "JSONEachRow", params=params or {})
        data = result.bytes()
        return [orjson.loads(line) for line in data.splitlines() if line]

    def execute(self, sql: str) -> None:
        with self._lock:
            self._session.query(sql)

    def server_version(self) -> tuple[int, int]:
        version = self.query("SELECT version() AS v")[0]["v"]
        return _major_minor(version)

    def query_stats(self, sql: str) -> tuple[int, int]:
        """Rows returned and rows read from tables by ``sql`` (the read benchmark)."""
        with self._lock:
            result = self._session.query(sql, "JSONEachRow")
        return len(result.bytes().splitlines()), int(result.storage_rows_read())

    def close(self) -> None:
        with self._lock:
            self._session.close()


class ServerWarehouse:
    """A ClickHouse server over the native protocol, retrying through outages.

    Retries are bounded by ``retry_for_s``; meanwhile the caller blocks, which is the
    backpressure we want: the consumer stops polling instead of buffering without bound.
    The worker sets ``retry_for_s=0`` and retries in its own flush loop instead, so each
    failed attempt counts in ``campaignpulse_sink_retries_total`` from the first one; the
    driver's own timeouts are bounded for the same reason (a dead server is an error
    within seconds, not after a minute).
    """

    def __init__(self, url: str, retry_for_s: float = 60.0) -> None:
        from clickhouse_driver import Client

        parsed = urlparse(url)
        self._client = Client(
            host=parsed.hostname or "localhost",
            port=parsed.port or 9000,
            user=unquote(parsed.username or "default"),
            password=unquote(parsed.password or ""),
            database=(parsed.path or "/").strip("/") or "default",
            connect_timeout=CONNECT_TIMEOUT_S,
            send_receive_timeout=SEND_RECEIVE_TIMEOUT_S,
            sync_request_timeout=CONNECT_TIMEOUT_S,
        )
        self._retry_for_s = retry_for_s
        self._lock = threading.Lock()

    def connect(self, timeout_s: float) -> None:
        """Wait at most ``timeout_s`` for the server; raises the last connection error."""
        self._retrying(lambda: self._client.execute("SELECT 1"), timeout_s, logging.INFO)

    def _retrying(
        self, call: Callable[[], T], retry_for_s: float | None = None, level: int = logging.WARNING
    ) -> T:
        from clickhouse_driver.errors import NetworkError, SocketTimeoutError

        deadline = time.monotonic() + (self._retry_for_s if retry_for_s is None else retry_for_s)
        delay = 0.2
        while True:
            try:
                with self._lock:
                    return call()
            except (NetworkError, SocketTimeoutError, EOFError, ConnectionError) as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.log(level, "ClickHouse unavailable (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                self._client.disconnect()

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES"
        self._retrying(lambda: self._client.execute(sql, list(rows)))

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            # No params, no substitution: clickhouse-driver would read every % in the SQL
            # (LIKE '%ad%', formatDateTime(t, '%Y')) as a Python format directive.
            data, types = self._client.execute(sql, params or None, with_column_types=True)
            names = [name for name, _ in types]
            return [dict(zip(names, row, strict=True)) for row in data]

        return self._retrying(run)

    def execute(self, sql: str) -> None:
        self._retrying(lambda: self._client.execute(sql))

    def server_version(self) -> tuple[int, int]:
        return _major_minor(str(self.query("SELECT version() AS v")[0]["v"]))

    def query_stats(self, sql: str) -> tuple[int, int]:
        """Rows returned and rows read from tables by ``sql`` (the read benchmark)."""
        def run() -> tuple[int, int]:
            rows = self._client.execute(sql)
            return len(rows), int(self._client.last_query.progress.rows)

        return self._retrying(run)

    def close(self) -> None:
        self._client.disconnect()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


def _compact_columns(width: int, rows: Sequence[Row]) -> bytes:
    """One JSON array per column (``JSONCompactColumns``): no per-row dict or key names,
    about a fifth of the cost of ``JSONEachRow`` per row (issue 20)."""
    columns: list[Sequence[Any]] = []
    for column in zip(*rows, strict=True):
        if any(isinstance(v, datetime) for v in column):
            columns.append([_plain(v) for v in column])
        else:
            columns.append(column)
    if len(columns) != width:
        raise ValueError(f"rows of {len(columns)} values for {width} columns")
    return orjson.dumps(columns)


def _major_minor(version: str) -> tuple[int, int]:
    parts = version.split(".")
    return int(parts[0]), int(parts[1])


def open_warehouse(
    clickhouse_url: str | None, data_dir: str, connect_timeout_s: float | None = None,
    retry_for_s: float = 60.0,
) -> Warehouse:
    """A server when a URL is configured, otherwise the embedded engine in ``data_dir``.

    With ``connect_timeout_s``, a server must answer within that time; ``retry_for_s``:
    how long a call waits out an outage before it fails.
    """
    if clickhouse_url:
        server = ServerWarehouse(clickhouse_url, retry_for_s)
        if connect_timeout_s is not None:
            server.connect(connect_timeout_s)
        return server
    return EmbeddedWarehouse(data_dir)


#: ClickHouse error codes that say the data itself is wrong: the same rows fail again.
DATA_ERROR_CODES = frozenset({
    6,  # CANNOT_PARSE_TEXT
    26,  # CANNOT_PARSE_QUOTED_STRING
    27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    38,  # CANNOT_PARSE_DATE
    41,  # CANNOT_PARSE_DATETIME
    53,  # TYPE_MISMATCH
    69,  # ARGUMENT_OUT_OF_BOUND
    70,  # CANNOT_CONVERT_TYPE
    72,  # CANNOT_PARSE_NUMBER
    117,  # INCORRECT_DATA
    131,  # TOO_LARGE_STRING_SIZE
    321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    407,  # DECIMAL_OVERFLOW
    691,  # UNKNOWN_ELEMENT_OF_ENUM
})
_CODE = re.compile(r"Code: (\d+)")


def is_data_error(exc: BaseException) -> bool:
    """True when an insert failed because of the rows, not the warehouse.

    Such rows fail on every retry, so they are set aside; anything else (network,
    timeouts, a server starting up, too many parts) is worth retrying.
    """
    if isinstance(exc, OverflowError | struct.error | TypeError | ValueError):
        return True  # the client could not serialise a value
    code = getattr(exc, "code", None)
    if not isinstance(code, int):
        match = _CODE.search(str(exc)[:300])  # chdb: "Code: 72. DB::Exception: ..."
        code = int(match.group(1)) if match else None
    return code in DATA_ERROR_CODES
