"""Event timestamps: RFC 3339 with a zone, or integer epoch milliseconds, to epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


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
    if not isinstance(value, str):
        raise TimestampError(f"not an RFC 3339 timestamp: {value!r}")
    return text_to_ms(value)


def text_to_ms(text: str) -> int:
    """Epoch ms of a timestamp string with a zone; the decoder's hot path calls it directly.

    ``datetime.fromisoformat`` does the parsing (Python 3.11 reads "Z" but not "z"); it
    also reads ISO 8601 forms outside RFC 3339 (``+0100``, ``17:59+01:00``, week dates),
    which the contract has always accepted (README, "Event contract").
    """
    if len(text) < 20 or text[10] not in "Tt":
        raise TimestampError(f"not an RFC 3339 timestamp: {text!r}")
    try:
        parsed = _fromisoformat(text[:-1] + "Z" if text[-1] == "z" else text)
    except ValueError as exc:
        raise TimestampError(f"not an RFC 3339 timestamp: {text!r}") from exc
    if parsed.tzinfo is None:
        raise TimestampError(f"timestamp has no zone: {text!r}")
    return (parsed - _EPOCH) // _ONE_MS


def format_timestamp_ms(ms: int) -> str:
    """Render epoch ms as RFC 3339 UTC with milliseconds, the contract's canonical form."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_fromisoformat = datetime.fromisoformat
