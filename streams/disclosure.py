"""Sponsored-post disclosure (FTC-style "#ad"), checked on every campaign media.

A media of a campaign that requires disclosure is disclosed when Instagram's paid
partnership label is on, or when one of the campaign's disclosure tags is in the caption
as a whole hashtag (case-insensitive: ``#ad`` is not ``#adventure``) within the first 125
characters, the part shown above the "more" fold. A tag only below the fold still raises
the alert, with reason ``below_fold``. A caption edited later to disclose resolves it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import msgspec
import orjson

from campaignpulse.streams.state.store import Store
from campaignpulse.streams.timestamps import format_timestamp_ms

FOLD_CHARS = 125
DISCLOSURE_ALERT = "disclosure_missing"
#: a hashtag: '#' then word characters; the tag ends where they end
HASHTAG = re.compile(r"#(\w+)")


class Finding(StrEnum):
    DISCLOSED = "disclosed"
    MISSING = "missing"
    BELOW_FOLD = "below_fold"


def hashtags(text: str) -> list[tuple[str, int]]:
    """Each hashtag, case-folded, with the index just past its end."""
    return [(m.group(1).casefold(), m.end()) for m in HASHTAG.finditer(text)]


def check(caption: str | None, paid_partnership: bool, tags: Iterable[str]) -> Finding:
    if paid_partnership:
        return Finding.DISCLOSED
    wanted = {t.casefold() for t in tags}
    found = [end for tag, end in hashtags(caption or "") if tag in wanted]
    if not found:
        return Finding.MISSING
    return Finding.DISCLOSED if min(found) <= FOLD_CHARS else Finding.BELOW_FOLD


@dataclass(frozen=True, slots=True)
class DisclosureAlert:
    """One version of a ``disclosure_missing`` alert; the id comes from the media id."""

    alert_id: str
    campaign_id: str
    creator_id: str
    media_id: str
    status: str  # firing | resolved
    reason: str  # missing | below_fold (the last one seen while firing)
    severity: str
    published_at_ms: int
    version: int
    alert_type: str = DISCLOSURE_ALERT

    def to_json(self) -> bytes:
        return orjson.dumps({
            "alert_type": self.alert_type, "alert_id": self.alert_id,
            "campaign_id": self.campaign_id, "creator_id": self.creator_id,
            "media_id": self.media_id, "status": self.status, "reason": self.reason,
            "severity": self.severity, "published_at_ms": self.published_at_ms,
            "published_at": format_timestamp_ms(self.published_at_ms), "version": self.version,
        })

    @classmethod
    def from_json(cls, raw: bytes) -> DisclosureAlert:
        body: dict[str, Any] = orjson.loads(raw)
        if body.get("alert_type") != DISCLOSURE_ALERT:
            raise ValueError("not a disclosure alert")
        return cls(
            alert_id=str(body["alert_id"]), campaign_id=str(body["campaign_id"]),
            creator_id=str(body["creator_id"]), media_id=str(body["media_id"]),
            status=str(body["status"]), reason=str(body["reason"]),
            severity=str(body["severity"]), published_at_ms=int(body["published_at_ms"]),
            version=int(body["version"]),
        )


def alert_id(media_id: str) -> str:
    return f"disclosure-{media_id}"


class MediaState(msgspec.Struct, array_like=True):
    """A campaign media's disclosure state: its alert (if any) and each caption it had."""

    captions: list[int]
    status: str = ""
    reason: str = ""
    campaign_id: str = ""
    creator_id: str = ""
    published_at_ms: int = 0
    version: int = 0


@dataclass(slots=True)
class _Media:
    captions: set[int]
    alert: DisclosureAlert | None = None


_encode = msgspec.msgpack.Encoder().encode
_state_decoder = msgspec.msgpack.Decoder(MediaState)


def _encode_media(media: _Media) -> bytes:
    a = media.alert
    if a is None:
        return _encode(MediaState(sorted(media.captions)))
    return _encode(MediaState(sorted(media.captions), a.status, a.reason, a.campaign_id,
                              a.creator_id, a.published_at_ms, a.version))


def _decode_media(raw: bytes) -> _Media:
    s = _state_decoder.decode(raw)
    media = _Media(set(s.captions))
    if s.version:
        media.alert = DisclosureAlert(
            alert_id="", campaign_id=s.campaign_id, creator_id=s.creator_id, media_id="",
            status=s.status, reason=s.reason, severity="warning",
            published_at_ms=s.published_at_ms, version=s.version)
    return media


class DisclosureMonitor:
    """One alert per undisclosed media, changed only when its finding changes.

    An edited caption is a new message for the same media id, in partition order. A
    caption this media already had (a duplicate, the same file fed twice, or an edit back
    to an earlier text) changes nothing, so re-reading a topic gives the same versions.
    State per campaign media, in the store (table ``disclosure``, the media's partition):
    the alert and a hash of each caption it had, so a restart changes nothing either.
    """

    def __init__(self, store: Store | None = None) -> None:
        store = store if store is not None else Store()
        self._table = store.table("disclosure", _encode_media, _decode_media)
        self._media = self._table.values

    def observe(
        self, media_id: str, creator_id: str, campaign_id: str, published_at_ms: int,
        finding: Finding, caption_hash: int = 0, partition: int = 0,
    ) -> DisclosureAlert | None:
        """The new version of this media's alert, if the finding changed it."""
        state = self._media.get(media_id)
        if state is None:
            state = _Media(set())
            self._table.put(media_id, state, partition)
        if caption_hash in state.captions:
            return None
        state.captions.add(caption_hash)
        self._table.touch(media_id)
        known = state.alert
        if known is not None and not known.media_id:  # restored: ids derive from the media
            known = replace(known, alert_id=alert_id(media_id), media_id=media_id)
        if finding is Finding.DISCLOSED:
            if known is None or known.status == "resolved":
                return None
            changed = replace(known, status="resolved", version=known.version + 1)
        elif known is None:
            changed = DisclosureAlert(
                alert_id=alert_id(media_id), campaign_id=campaign_id, creator_id=creator_id,
                media_id=media_id, status="firing", reason=finding.value, severity="warning",
                published_at_ms=published_at_ms, version=1,
            )
        elif known.status == "firing" and known.reason == finding.value:
            return None
        else:
            changed = replace(known, status="firing", reason=finding.value,
                              version=known.version + 1)
        state.alert = changed
        return changed
