"""The authenticity stage's whole state as one msgspec Struct, and back.

Every field is a plain mapping per key (bucket, media, account, band key, creator,
campaign creator), the form a change-logging key-value store keeps; indexes derived from
them (window counts, candidate sets, eviction queues) are rebuilt on restore.
"""

from __future__ import annotations

import msgspec

from campaignpulse.streams.authenticity.accounts import RateCell
from campaignpulse.streams.authenticity.alerts import AlertTrack
from campaignpulse.streams.authenticity.comments import BandState
from campaignpulse.streams.authenticity.followers import CreatorSample, FollowerSample
from campaignpulse.streams.authenticity.pods import EarlyHit, Ring
from campaignpulse.streams.authenticity.stage import AuthenticityStage, Touch


class StageState(msgspec.Struct):
    newest_ms: int
    late: int
    open: dict[int, list[Touch]]
    published: dict[str, int]
    generic_before: dict[str, list[tuple[int, str]]]
    rate: dict[int, dict[str, RateCell]]
    suspicious: dict[str, dict[str, int]]
    early: list[tuple[str, list[EarlyHit]]]  # least recently early first
    bands: list[tuple[tuple[int, int], BandState]]
    cached_texts: int
    rings: list[Ring]
    bots: dict[str, int]
    totals: list[tuple[tuple[str, str], list[int]]]
    audience: dict[str, CreatorSample]
    alerts: list[tuple[tuple[str, str], AlertTrack]]
    #: input partition -> its newest event time held
    newest: dict[int, int] = {}
    judged_ms: int = -1
    #: media partition -> its newest publication time read
    media_newest: dict[int, int] = {}
    #: creator -> follower samples read, not applied yet
    samples: dict[str, list[FollowerSample]] = {}
    #: sample partition -> its newest observation time read
    samples_newest: dict[int, int] = {}


def export_state(stage: AuthenticityStage) -> StageState:
    return StageState(
        newest_ms=stage.newest_ms, late=stage.late, open=stage.open,
        published=stage.published, generic_before=stage.generic_before,
        rate=stage.accounts.rate, suspicious=stage.accounts.suspicious,
        early=list(stage.pods.early.items()), bands=list(stage.copies.bands.items()),
        cached_texts=stage.signer.cached(), rings=list(stage.rings.values()),
        bots=stage.flagged, totals=list(stage.watch.totals.items()),
        audience=stage.audience.creators, alerts=list(stage.alerts.tracks.items()),
        newest=stage.newest, judged_ms=stage.judged_ms, media_newest=stage.media_newest,
        samples=stage.samples, samples_newest=stage.samples_newest,
    )


def restore_state(stage: AuthenticityStage, state: StageState) -> None:
    """Into a new stage with the same rules (the text cache refills itself)."""
    stage.newest_ms, stage.late = state.newest_ms, state.late
    stage.newest, stage.judged_ms = state.newest, state.judged_ms
    stage.media_newest = state.media_newest
    stage.samples, stage.samples_newest = state.samples, state.samples_newest
    stage.open = state.open
    stage.next_bucket = min(state.open) if state.open else None
    stage.published = state.published
    stage.generic_before = state.generic_before
    stage.accounts.rate = state.rate
    stage.accounts.suspicious = state.suspicious
    stage.accounts.rebuild()
    stage.pods.early.clear()
    stage.pods.early.update(state.early)
    stage.pods.rebuild()
    stage.copies.bands = dict(state.bands)
    stage.copies.rebuild(stage.rules.bucket_ms)
    stage.rings = {r.ring_id: r for r in state.rings}
    stage.flagged = state.bots
    stage.watch.totals = dict(state.totals)
    stage.audience.creators = state.audience
    stage.alerts.tracks = dict(state.alerts)


def encode(stage: AuthenticityStage) -> bytes:
    return msgspec.msgpack.encode(export_state(stage))


_decoder = msgspec.msgpack.Decoder(StageState)


def decode(raw: bytes) -> StageState:
    """Refuses (msgspec.ValidationError) anything that is not this state."""
    return _decoder.decode(raw)
