"""Event timestamps: RFC 3339 with a zone, or integer epoch milliseconds, to epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime


class TimestampError(ValueError):
    """The value is not an accepted timestamp."""


def parse_timestamp_ms(value: object) -> int:
    """Return epoch milliseconds for an RFC 3339 string with a zone or an int of epoch ms.

    Naive strings are refused: a timestamp without a zone means different instants
    to different producers, which would silently shift windows.
    """
    if isinstance(value, bool):
        raise TimestampError("boolean is not a timestamp")
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or len(value) < 20 or value[10] not in "Tt":
        raise TimestampError(f"not an RFC 3339 timestamp: {value!r}")
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise TimestampError(f"timestamp has no zone: {value!r}")
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def format_timestamp_ms(ms: int) -> str:
    """Render epoch ms as RFC 3339 UTC with milliseconds, the contract's canonical form."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
