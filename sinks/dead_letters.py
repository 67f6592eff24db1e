"""Dead letters that always fit: capped bytes and headers, and a table for the refused.

A letter carries the original bytes up to a cap; past it a prefix, with the original
length and sha256 in headers so the record can still be identified (and found again in
the source topic through ``campaignpulse.source``). Every header is capped too, so no
record, however large or strange, makes a letter the broker must refuse. A letter the
broker refuses anyway (a topic with a smaller ``max.message.bytes``, authorisation) is
not retried forever: it becomes a row of the ``dead_letters`` table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEAD_LETTER_COLUMNS = (
    "recorded_at",
    "reason",
    "detail",
    "source_topic",
    "source_partition",
    "source_offset",
    "key",
    "length",
    "sha256",
    "prefix",
    "failure",
)

#: bytes of the original kept in a ``dead_letters`` row
TABLE_PREFIX_BYTES = 1024


@dataclass(frozen=True, slots=True)
class LetterLimits:
    """What one letter may carry; the sum stays far under Kafka's 1 MB default."""

    #: original value bytes kept whole up to this; past it, a prefix of this size
    max_value_bytes: int = 256 * 1024
    #: each header value (reason, detail, source, ...)
    max_header_bytes: int = 1024
    #: the original key (a creator id is at most 1 KB of UTF-8)
    max_key_bytes: int = 1024


@dataclass(frozen=True, slots=True)
class Letter:
    """One message for the dead-letter (or alerts) topic, and where it came from."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    reason: str
    detail: str
    source_topic: str
    source_partition: int
    source_offset: int
    #: length and sha256 of the original value (before any truncation)
    length: int
    sha256: str

    @property
    def size(self) -> int:
        return (
            len(self.value)
            + len(self.key or b"")
            + sum(len(k) + len(v) for k, v in self.headers)
        )


def cap(data: bytes, limit: int) -> bytes:
    return data if len(data) <= limit else data[:limit]


def cap_text(text: str, limit: int) -> bytes:
    """UTF-8 of ``text`` within ``limit`` bytes, never cut inside a character."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data
    return data[: limit - 3].decode("utf-8", "ignore").encode() + b"..."


def dead_letter(
    dlq_topic: str,
    source: tuple[str, int, int],
    key: bytes | None,
    value: bytes | None,
    reason: str,
    detail: str,
    limits: LetterLimits,
) -> Letter:
    """The letter for one refused record, within ``limits`` whatever the record is."""
    original = value or b""
    digest = hashlib.sha256(original).hexdigest()
    topic, partition, offset = source
    h = limits.max_header_bytes
    headers = [
        ("campaignpulse.reason", cap_text(reason, h)),
        ("campaignpulse.detail", cap_text(detail, h)),
        ("campaignpulse.source", cap_text(f"{topic}/{partition}/{offset}", h)),
        ("campaignpulse.length", str(len(original)).encode()),
        ("campaignpulse.sha256", digest.encode()),
    ]
    kept = cap(original, limits.max_value_bytes)
    if len(kept) < len(original):
        headers.append(("campaignpulse.truncated", b"true"))
    return Letter(
        topic=dlq_topic,
        key=None if key is None else cap(key, limits.max_key_bytes),
        value=kept,
        headers=headers,
        reason=reason,
        detail=detail[: h * 4],
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        length=len(original),
        sha256=digest,
    )


def message(topic: str, key: bytes | None, value: bytes, what: str) -> Letter:
    """A message of our own (an alert) on the same acknowledged path as dead letters."""
    return Letter(
        topic=topic,
        key=key,
        value=value,
        headers=[],
        reason="undeliverable",
        detail=what,
        source_topic=topic,
        source_partition=-1,
        source_offset=-1,
        length=len(value),
        sha256=hashlib.sha256(value).hexdigest(),
    )


def table_row(letter: Letter, failure: str, now_s: float) -> tuple[Any, ...]:
    """A ``dead_letters`` row: what was refused, why, and why it could not be delivered."""
    return (
        datetime.fromtimestamp(int(now_s), tz=UTC),
        letter.reason[:64],
        cap_text(letter.detail, 1024).decode(),
        letter.source_topic[:256],
        letter.source_partition,
        letter.source_offset,
        cap_text(_text(letter.key or b""), 1024).decode(),
        letter.length,
        letter.sha256,
        _text(letter.value[:TABLE_PREFIX_BYTES]),
        cap_text(failure, 1024).decode(),
    )


def _text(data: bytes) -> str:
    """Readable text of arbitrary bytes: UTF-8 where it is, escapes where it is not."""
    return data.decode("utf-8", "backslashreplace")
