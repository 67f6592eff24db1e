"""The slow path of ``decode``: values the fast decoder refused, or could not take because
they carry fields the contract does not name.

Its verdicts are the ones the hand-written decoder gave before msgspec, since dead letters
are counted, alerted on and replayed by reason: orjson decides what is malformed JSON
(valid JSON nested deeper than its 1024 levels is a schema fault), then the fields are
checked in their declaration order and the first fault decides, except that an unknown
kind outranks every other fault of an interaction. (A timestamp string that does not
parse is a schema fault wherever it is found, so it is left to ``wire.event``.)
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from campaignpulse.streams.contract import (
    KIND_INDEX,
    MAX_ID_CHARS,
    WIRE_TYPES,
    Count,
    InteractionIn,
    Reason,
    Rejected,
    Wire,
)


def json_object(value: bytes) -> dict[str, Any]:
    """The JSON object in ``value``, or raise :class:`Rejected`."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):  # valid JSON, nested deeper than any event is
            raise Rejected(Reason.SCHEMA, "value nested too deep") from None
        raise Rejected(Reason.MALFORMED_JSON, str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise Rejected(Reason.SCHEMA, "value is not a JSON object")
    return obj


def slow_decode(topic: str, value: bytes) -> Wire:
    """The wire value of a record the fast decoder did not take, or raise :class:`Rejected`."""
    obj = json_object(value)
    wire = WIRE_TYPES.get(topic)
    if wire is None:
        raise Rejected(Reason.SCHEMA, f"not an input topic: {topic}"[:200])
    try:
        return msgspec.convert(obj, wire)
    except msgspec.ValidationError as exc:
        raise verdict(wire, obj, exc) from None


def verdict(wire: type[Wire], obj: dict[str, Any], error: Exception) -> Rejected:
    """Why ``obj`` is not a ``wire``: the first faulty field decides the reason."""
    kind = obj.get("kind")
    if (wire is InteractionIn and isinstance(kind, str)
            and 0 < len(kind) <= MAX_ID_CHARS and kind not in KIND_INDEX):
        return Rejected(Reason.UNKNOWN_KIND, f"unknown kind {kind[:50]!r}")
    for field in msgspec.structs.fields(wire):
        value = obj.get(field.encode_name)
        try:
            msgspec.convert(value, field.type)
        except msgspec.ValidationError as exc:
            if field.type == Count and type(value) is int:  # an integer, out of range
                return Rejected(Reason.IMPOSSIBLE_VALUE, f"{field.name}: {exc}")
            missing = value is None and field.encode_name not in obj
            return Rejected(Reason.SCHEMA, f"{field.name}: missing" if missing
                            else f"{field.name}: {exc}"[:200])
    return Rejected(Reason.SCHEMA, str(error)[:200])
