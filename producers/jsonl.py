"""The JSONL event file: ``{"topic": "<topic>", "value": {...}}`` per line.

A value that is a JSON string is published as those raw bytes, so a file can carry
deliberately broken payloads. Lines that are not an envelope at all cannot be routed to
a topic; they go to the dead-letter topic from here, with reason ``malformed_line``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from campaignpulse.streams.contract import INPUT_TOPICS
from campaignpulse.streams.timestamps import TimestampError, format_timestamp_ms, parse_timestamp_ms


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes
    #: set when the line could not be routed: the reason it goes to the DLQ
    problem: str | None = None


def parse_lines(lines: Iterable[bytes], shift_ms: int = 0) -> Iterator[Outgoing]:
    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw.strip():
            continue
        try:
            envelope = orjson.loads(raw)
        except orjson.JSONDecodeError:
            yield Outgoing("", None, raw, f"line {number}: not JSON")
            continue
        if (
            not isinstance(envelope, dict)
            or envelope.get("topic") not in INPUT_TOPICS
            or not isinstance(envelope.get("value"), dict | str)
        ):
            yield Outgoing("", None, raw, f"line {number}: not an envelope of a known topic")
            continue
        value = envelope["value"]
        if isinstance(value, str):
            yield Outgoing(envelope["topic"], None, value.encode())
            continue
        creator = value.get("creator_id")
        key = creator.encode() if isinstance(creator, str) else None
        if shift_ms:
            value = _shifted(value, shift_ms)
        yield Outgoing(envelope["topic"], key, orjson.dumps(value))


_TIME_FIELDS = ("occurred_at", "published_at", "observed_at")


def _shifted(value: dict[str, object], shift_ms: int) -> dict[str, object]:
    out = dict(value)
    for name in _TIME_FIELDS:
        if name in out:
            try:
                out[name] = format_timestamp_ms(parse_timestamp_ms(out[name]) + shift_ms)
            except TimestampError:
                pass  # left as it is: the worker dead-letters it with the reason
    return out


def newest_event_ms(lines: Iterable[bytes]) -> int | None:
    """The latest timestamp in a file, to re-time it so that it ends now."""
    newest = None
    for line in lines:
        try:
            value = orjson.loads(line).get("value")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if not isinstance(value, dict):
            continue
        for name in _TIME_FIELDS:
            if name in value:
                try:
                    ts = parse_timestamp_ms(value[name])
                except TimestampError:
                    continue
                newest = ts if newest is None else max(newest, ts)
    return newest
