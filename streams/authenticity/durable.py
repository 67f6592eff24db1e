"""The authenticity stage's state in the worker's one change-logging store.

The stage keeps its state in plain mappings (``state.py`` lists them); this mirror puts
each entry under its own store key at a checkpoint, writing only what changed since the
last one, and rebuilds the stage from the store after a restore or a revoke. So the
stage stays plain Python with its own indexes, and is durable with no checkpoint code.

Held interactions go to a :class:`Log` per (bucket, partition), appended as they come
and deleted when the bucket is judged. Every other entry is a :class:`Table` key whose
partition is its creator's: a media's, a ring's first target's, a (campaign, creator)'s;
the state of an *account* spans creators and goes with the creator it engaged in its
newest entry. With one worker every partition is here and the stage is global; with
several, each worker's stage sees its own partitions only (README: Authenticity).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

from campaignpulse.streams.authenticity.accounts import RateCell
from campaignpulse.streams.authenticity.alerts import AlertTrack
from campaignpulse.streams.authenticity.comments import BandState
from campaignpulse.streams.authenticity.followers import CreatorSample, FollowerSample
from campaignpulse.streams.authenticity.pods import EarlyHit, Ring
from campaignpulse.streams.authenticity.stage import AuthenticityStage, Touch
from campaignpulse.streams.authenticity.state import StageState, restore_state
from campaignpulse.streams.state.store import Store
from campaignpulse.streams.state.tables import Table


def _band_signature(state: BandState) -> Hashable:
    return state.newest_ms, tuple(state.accounts.items()), tuple(state.creators.items())


def _early_signature(hits: list[EarlyHit]) -> Hashable:
    return (len(hits), hits[0], hits[-1]) if hits else 0


def _track_signature(track: AlertTrack) -> Hashable:
    return track.alert, track.last_jump_ms, tuple(sorted(track.previous.items()))


class _Mirror:
    """One mapping of the stage in one table: puts what changed, deletes what left."""

    def __init__(self, table: Table[Any], signature: Callable[[Any], Hashable]) -> None:
        self.table = table
        self.signature = signature
        self.synced: dict[Hashable, Hashable] = {}

    def sync(self, current: dict[Any, Any], partition: Callable[[Any, Any], int]) -> None:
        table, signature, synced = self.table, self.signature, self.synced
        for key in [k for k in synced if k not in current]:
            table.delete(key)
            del synced[key]
        for key, value in current.items():
            mark = signature(value)
            if synced.get(key, _MISSING) != mark:
                table.put(key, value, partition(key, value))
                synced[key] = mark

    def restored(self) -> dict[Any, Any]:
        """The table's values (after a restore or a drop), taken as synced."""
        values = self.table.values
        self.synced = {k: self.signature(v) for k, v in values.items()}
        return values


_MISSING = object()


class DurableStage:
    """Keeps ``stage`` in ``store``; ``creator_partition`` says whose partition is whose."""

    def __init__(self, stage: AuthenticityStage, store: Store,
                 creator_partition: dict[str, int]) -> None:
        self.stage = stage
        self.creators = creator_partition
        #: media id -> its creator's partition, while the stage holds the media
        self.media_partitions: dict[str, int] = {}
        self.touches = store.log("auth.open", Touch)
        #: bucket -> partition -> held touches already appended to the log
        self._held: dict[int, dict[int, int]] = {}
        #: the stage's judged_ms at the last sync: no close since, nothing else changed
        self._judged_ms = -1
        s = store.structs
        #: partition -> (its newest event time, late, judged until)
        self.meta = s("auth.meta", tuple[int, int, int])
        #: media partition -> the newest publication time read from it
        self.media_meta = s("auth.media_meta", int)
        #: sample partition -> the newest observation time read from it
        self.samples_meta = s("auth.samples_meta", int)
        #: creator -> its follower samples read, not applied yet (small: until a close)
        self.samples = _Mirror(s("auth.samples", list[FollowerSample]), tuple)
        same: Callable[[Any], Hashable] = lambda v: v  # noqa: E731 - immutable values
        self.published = _Mirror(s("auth.published", int), same)
        self.generic = _Mirror(s("auth.generic", list[tuple[int, str]]), tuple)
        self.rate = _Mirror(s("auth.rate", dict[str, RateCell]), len)  # written once
        self.suspicious = _Mirror(s("auth.suspicious", dict[str, int]),
                                  lambda v: tuple(v.items()))
        self.early = _Mirror(s("auth.early", list[EarlyHit]), _early_signature)
        self.bands = _Mirror(s("auth.bands", BandState), _band_signature)
        self.flagged = _Mirror(s("auth.bots", int), same)
        self.rings = _Mirror(s("auth.rings", Ring), same)
        self.totals = _Mirror(s("auth.totals", list[int]), tuple)
        self.audience = _Mirror(s("auth.audience", CreatorSample), id)
        #: creators whose audience estimate changed since the last sync
        self.sampled: set[str] = set()
        self.alerts = _Mirror(s("auth.alerts", AlertTrack), _track_signature)
        store.on_restore(self._rebuild)

    def _of(self, creator: str) -> int:
        return self.creators.get(creator, 0)

    def sync(self) -> None:
        """Put what changed since the last sync into the store (at each checkpoint)."""
        st = self.stage
        of = self._of
        self._sync_touches()
        for partition, newest in st.newest.items():
            meta = (newest, st.late, st.judged_ms)
            if self.meta.get(partition) != meta:
                self.meta.put(partition, meta, partition)
        for meta_table, newest_of in ((self.media_meta, st.media_newest),
                                      (self.samples_meta, st.samples_newest)):
            for partition, at in newest_of.items():
                if meta_table.get(partition) != at:
                    meta_table.put(partition, at, partition)
        self.samples.sync(st.samples, lambda c, _: of(c))
        self.published.sync(st.published, lambda m, _: self._media_partition(m))
        for creator in self.sampled:  # a close changes a creator's verdicts in place
            sample = st.audience.creators.get(creator)
            if sample is not None:
                self.audience.table.put(creator, sample, of(creator))
        self.sampled.clear()
        self.alerts.sync(st.alerts.tracks, lambda k, _: of(k[1]))
        if st.judged_ms != self._judged_ms:  # the rest changes only when a bucket closes
            self._judged_ms = st.judged_ms
            self._sync_closed()
        known = self.media_partitions
        for media_id in [m for m in known if m not in st.published
                         and m not in st.generic_before]:
            del known[media_id]

    def _sync_closed(self) -> None:
        st = self.stage
        of = self._of
        self.generic.sync(st.generic_before, lambda m, _: self._media_partition(m))
        rate: dict[tuple[int, int], dict[str, RateCell]] = {}
        for bucket, cells in st.accounts.rate.items():
            for actor, cell in cells.items():
                rate.setdefault((bucket, of(cell.creators[0])), {})[actor] = cell
        self.rate.sync(rate, lambda k, _: k[1])
        self.suspicious.sync(st.accounts.suspicious,
                             lambda _, v: of(max(v, key=lambda c: (v[c], c))))
        self.early.sync(st.pods.early, lambda _, v: of(v[-1].creator_id))
        self.bands.sync(st.copies.bands,
                        lambda _, v: of(max(v.creators, key=lambda c: (v.creators[c], c))))
        self.flagged.sync(st.flagged, lambda a, _: self._account_partition(a))
        self.rings.sync(st.rings, lambda _, r: of(r.targets[0] if r.targets else r.members[0]))
        self.totals.sync(st.watch.totals, lambda k, _: of(k[1]))

    def media(self, media_id: str, partition: int) -> None:
        self.media_partitions[media_id] = partition

    def _media_partition(self, media_id: str) -> int:
        return self.media_partitions.get(media_id, 0)

    def _account_partition(self, actor: str) -> int:
        hits = self.stage.pods.early.get(actor)
        return self._of(hits[-1].creator_id) if hits else 0

    def _sync_touches(self) -> None:
        held, log, of = self._held, self.touches, self._of
        open_buckets = self.stage.open
        for bucket in [b for b in held if b not in open_buckets]:
            for partition in held.pop(bucket):
                log.delete((bucket, partition))
        for bucket, touches in open_buckets.items():
            counts = held.setdefault(bucket, {})
            done = sum(counts.values())
            media = self.media_partitions
            for t in touches[done:]:
                partition = of(t.creator_id)
                log.append((bucket, partition), t, partition)
                counts[partition] = counts.get(partition, 0) + 1
                media.setdefault(t.media_id, partition)

    # -- back from the store -----------------------------------------------------------

    def _rebuild(self) -> None:
        """After a restore: the stage again from the store, plus what it holds already."""
        open_buckets = {b: list(ts) for b, ts in self.stage.open.items()}
        for (bucket, partition), _, items in self.touches.take_restored(lambda key: key):
            open_buckets.setdefault(bucket, []).extend(items)
            counts = self._held.setdefault(bucket, {})
            counts[partition] = counts.get(partition, 0) + len(items)
        self._load(open_buckets)

    def revoked(self, partitions: Iterable[int]) -> None:
        """After the store dropped ``partitions``: the stage keeps only what remains."""
        gone = set(partitions)
        of = self._of
        open_buckets = {}
        for bucket, touches in self.stage.open.items():
            kept = [t for t in touches if of(t.creator_id) not in gone]
            if kept:
                open_buckets[bucket] = kept
        for counts in self._held.values():
            for partition in gone:
                counts.pop(partition, None)
        for partition in gone:
            self.stage.newest.pop(partition, None)
            self.stage.media_newest.pop(partition, None)
            self.stage.samples_newest.pop(partition, None)
        self._load(open_buckets)

    def _load(self, open_buckets: dict[int, list[Touch]]) -> None:
        meta = self.meta.values
        newest = {p: m[0] for p, m in meta.items()}
        newest.update(self.stage.newest)
        media_newest = {**self.media_meta.values, **self.stage.media_newest}
        samples_newest = {**self.samples_meta.values, **self.stage.samples_newest}
        held = [*meta.values()]
        rate: dict[int, dict[str, RateCell]] = {}
        for (bucket, _), cells in self.rate.restored().items():
            rate.setdefault(bucket, {}).update(cells)
        early = sorted(self.early.restored().items(), key=lambda kv: (kv[1][-1].bucket, kv[0]))
        state = StageState(
            newest_ms=max([-1, *newest.values()]),
            late=max([self.stage.late, *(m[1] for m in held)]),
            open=open_buckets,
            published=dict(self.published.restored()),
            generic_before=dict(self.generic.restored()),
            rate=rate,
            suspicious=dict(self.suspicious.restored()),
            early=early,
            bands=list(self.bands.restored().items()),
            cached_texts=0,
            rings=list(self.rings.restored().values()),
            bots=dict(self.flagged.restored()),
            totals=list(self.totals.restored().items()),
            audience=dict(self.audience.restored()),
            alerts=list(self.alerts.restored().items()),
            newest=newest,
            judged_ms=max([self.stage.judged_ms, *(m[2] for m in held)]),
            media_newest=media_newest,
            samples=dict(self.samples.restored()),
            samples_newest=samples_newest,
        )
        restore_state(self.stage, state)
        self._judged_ms = self.stage.judged_ms
