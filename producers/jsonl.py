"""The JSONL event file: ``{"topic": "<topic>", "value": {...}}`` per line.

A value that is a JSON string is published as those raw bytes, so a file can carry
deliberately broken payloads. Lines that are not an envelope at all cannot be routed to
a topic; they go to the dead-letter topic from here, with reason ``malformed_line``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC, FILE_TOPICS
from campaignpulse.streams.timestamps import TimestampError, format_timestamp_ms, parse_timestamp_ms


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    key: bytes | None
    value: bytes | None  # None: a campaign deletion (tombstone)
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
            or envelope.get("topic") not in FILE_TOPICS
            or not isinstance(envelope.get("value"), dict | str)
        ):
            if _is_deletion(envelope):
                yield Outgoing(CAMPAIGNS_TOPIC, str(envelope["key"]).encode(), None)
                continue
            yield Outgoing("", None, raw, f"line {number}: not an envelope of a known topic")
            continue
        value = envelope["value"]
        if isinstance(value, str):
            yield Outgoing(envelope["topic"], None, value.encode())
            continue
        creator = value.get("campaign_id" if envelope["topic"] == CAMPAIGNS_TOPIC else "creator_id")
        key = creator.encode() if isinstance(creator, str) else None
        if shift_ms:
            value = _shifted(value, shift_ms)
        yield Outgoing(envelope["topic"], key, orjson.dumps(value))


_EVENT_TIME_FIELDS = ("occurred_at", "published_at", "observed_at")
_TIME_FIELDS = (*_EVENT_TIME_FIELDS, "starts_at", "ends_at")


def _is_deletion(envelope: object) -> bool:
    """``{"topic": "ig.campaigns", "key": ID, "value": null}`` deletes a campaign."""
    return (isinstance(envelope, dict) and envelope.get("topic") == CAMPAIGNS_TOPIC
            and envelope.get("value") is None and isinstance(envelope.get("key"), str))


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
        for name in _EVENT_TIME_FIELDS:
            if name in value:
                try:
                    ts = parse_timestamp_ms(value[name])
                except TimestampError:
                    continue
                newest = ts if newest is None else max(newest, ts)
    return newest
