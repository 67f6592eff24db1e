"""The slow path of ``decode``: values the fast decoder refused, or could not take because
they carry fields the contract does not name.

Its verdicts are the ones the hand-written decoder gave before msgspec, since dead letters
are counted, alerted on and replayed by reason: orjson decides what is malformed JSON
(valid JSON nested deeper than its 1024 levels is a schema fault), then the fields are
checked in their declaration order and the first fault decides, except that an unknown
kind outranks every other fault of an interaction; an integer out of its field's range
is impossible_value, every other fault schema.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from campaignpulse.streams.contract import (
    KIND_INDEX,
    MAX_ID_CHARS,
    KindName,
    Reason,
    Rejected,
    Timestamp,
    json_object,
)
from campaignpulse.streams.timestamps import TimestampError, text_to_ms

W = TypeVar("W", bound=msgspec.Struct)


def slow_decode(wire: type[W], value: bytes) -> W:
    """The ``wire`` value of a record the fast decoder did not take, or raise
    :class:`Rejected`."""
    obj = json_object(value)
    try:
        return msgspec.convert(obj, wire)
    except msgspec.ValidationError as exc:
        raise verdict(wire, obj, exc) from None


def verdict(wire: type[msgspec.Struct], obj: dict[str, Any], error: Exception) -> Rejected:
    """Why ``obj`` is not a ``wire``: the first faulty field decides the reason."""
    fields = msgspec.structs.fields(wire)
    for field in fields:
        kind = obj.get(field.encode_name)
        if (field.type == KindName and isinstance(kind, str)
                and 0 < len(kind) <= MAX_ID_CHARS and kind not in KIND_INDEX):
            return Rejected(Reason.UNKNOWN_KIND, f"unknown kind {kind[:50]!r}")
    for field in fields:
        value = obj.get(field.encode_name)
        try:
            msgspec.convert(value, field.type)
            if field.type == Timestamp and isinstance(value, str):
                text_to_ms(value)
        except (msgspec.ValidationError, TimestampError) as exc:
            if type(value) is int and _takes_integers(field.type):  # out of range
                return Rejected(Reason.IMPOSSIBLE_VALUE, f"{field.name}: {exc}")
            missing = value is None and field.encode_name not in obj
            return Rejected(Reason.SCHEMA, f"{field.name}: missing" if missing
                            else f"{field.name}: {exc}"[:200])
    return Rejected(Reason.SCHEMA, str(error)[:200])


def _takes_integers(annotation: Any) -> bool:
    info = msgspec.inspect.type_info(annotation)
    options = info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)
    return any(isinstance(option.type if isinstance(option, msgspec.inspect.Metadata)
                          else option, msgspec.inspect.IntType) for option in options)
