"""One store for every operator's state; it logs its own changes, as Kafka Streams' stores do.

An operator keeps its state in :class:`Table` s (key → value: the live object it reads)
and, where a value grows by appending (the events of an open hour, a contest's entries),
in :class:`Log` s. It gets, puts, touches (changed in place), appends and deletes; that
is all. The store remembers what changed, and :meth:`Store.changes` turns it into
changelog records: a changed value whole, a log's new items as chunks written once, a
deletion as nulls. So a new stateful operator is durable by keeping its state here, with
no checkpoint code of its own.

Every key belongs to an input partition (its creator's); its records go to the changelog
partition of the same number, so state moves with the partition. Each checkpoint ends,
per partition it touched, with a *position record*: the input offsets the state of that
partition covers. Restoring applies what precedes the last position record and nothing
after it (a flush cut short by a crash), so the state always matches its positions
exactly, and reading resumes there: a record is never applied twice, nor skipped.

Keys and values are msgpack (msgspec), decoded into typed Structs; a record that does
not fit is refused and counted, never executed.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from campaignpulse.streams.state.tables import CHUNK_ITEMS, ChangelogRecord, Log, Table

V = TypeVar("V")
T = TypeVar("T")
S = TypeVar("S")

#: input (topic, partition) -> the offset after the last record the state covers
Positions = dict[tuple[str, int], int]

POSITIONS = "pos"

_encode = msgspec.msgpack.Encoder().encode
_key_decoder = msgspec.msgpack.Decoder(list[Any])
_positions_decoder = msgspec.msgpack.Decoder(dict[str, int])
_POSITIONS_KEY = _encode([POSITIONS])


def _plain(part: Any) -> Hashable:
    return tuple(part) if isinstance(part, list) else part


@dataclass
class RestoreReport:
    #: changelog records read
    records: int = 0
    #: records applied, per table (one per key) or log (one per chunk)
    keys: dict[str, int] = field(default_factory=dict)
    #: log items restored, per log
    items: dict[str, int] = field(default_factory=dict)
    #: records that did not decode into the store's types (skipped, counted)
    refused: int = 0
    #: records after the last position record: a flush cut short, not applied
    unfinished: int = 0
    positions: Positions = field(default_factory=dict)

    def count(self, name: str, items: int = 0) -> None:
        self.keys[name] = self.keys.get(name, 0) + 1
        if items:
            self.items[name] = self.items.get(name, 0) + items

    def merge(self, other: RestoreReport) -> None:
        """Add another partition's report to this one."""
        self.records += other.records
        self.refused += other.refused
        self.unfinished += other.unfinished
        for name, n in other.keys.items():
            self.keys[name] = self.keys.get(name, 0) + n
        for name, n in other.items.items():
            self.items[name] = self.items.get(name, 0) + n
        self.positions.update(other.positions)


class Store:
    def __init__(self) -> None:
        self._tables: dict[str, Table[Any]] = {}
        self._logs: dict[str, Log[Any]] = {}
        self._restored: list[Callable[[], None]] = []
        #: the positions each partition's last position record holds
        self._written: dict[int, dict[str, int]] = {}
        #: records to write first at the next checkpoint: what a cut-short flush left
        self._repair: list[ChangelogRecord] = []

    def table(self, name: str, encode: Callable[[V], bytes],
              decode: Callable[[bytes], V], lazy: bool = False) -> Table[V]:
        """``lazy``: restored values are decoded when first read (``Table.get``)."""
        if name in self._tables or name in self._logs or name == POSITIONS:
            raise ValueError(f"state name {name!r} is taken")
        table: Table[V] = Table(name, encode, decode, lazy)
        self._tables[name] = table
        return table

    def structs(self, name: str, kind: type[S]) -> Table[S]:
        """A table whose values are msgspec Structs (or plain msgpack types) as they are."""
        return self.table(name, _encode, msgspec.msgpack.Decoder(kind).decode)

    def log(self, name: str, item: type[T], chunk_items: int = CHUNK_ITEMS) -> Log[T]:
        if name in self._tables or name in self._logs or name == POSITIONS:
            raise ValueError(f"state name {name!r} is taken")
        log: Log[T] = Log(name, item, chunk_items)
        self._logs[name] = log
        return log

    def on_restore(self, hook: Callable[[], None]) -> None:
        """``hook`` runs after each restore: fold restored log items into tables."""
        self._restored.append(hook)

    def changes(self, positions: Mapping[tuple[str, int], int]) -> list[ChangelogRecord]:
        """Everything changed since the last call, then a position record for every
        partition that has records here or whose positions moved."""
        out = self._repair
        self._repair = []
        for log in self._logs.values():
            log._changes(out)
        for table in self._tables.values():
            table._changes(out)
        moved: dict[int, dict[str, int]] = {}
        for (topic, partition), offset in positions.items():
            moved.setdefault(partition, {})[topic] = offset
        touched = {p for p, _, _ in out}
        for partition in sorted(touched | set(moved)):
            written = self._written.get(partition)
            offsets = {**(written or {}), **moved.get(partition, {})}
            if offsets != written or partition in touched:
                out.append((partition, _POSITIONS_KEY, _encode(offsets)))
                self._written[partition] = offsets
        return out

    def restore(self, partition: int,
                records: Iterable[tuple[bytes | None, bytes | None]]) -> RestoreReport:
        """Apply one changelog partition's records (in offset order) up to its last
        position record; what follows it is rewritten as it was at the next checkpoint."""
        report = RestoreReport()
        applied: dict[bytes, bytes | None] = {}
        pending: dict[bytes, bytes | None] = {}
        positions: dict[str, int] | None = None
        for key, value in records:
            report.records += 1
            if key == _POSITIONS_KEY:
                applied.update(pending)
                pending.clear()
                try:
                    positions = _positions_decoder.decode(value or b"")
                except (msgspec.DecodeError, msgspec.ValidationError):
                    report.refused += 1
            elif key is not None:
                pending[key] = value
        report.unfinished = len(pending)
        # a flush cut short may have overwritten keys: write back what precedes it
        self._repair.extend((partition, key, applied.get(key)) for key in pending)
        # Millions of small objects and no cycles among them: the cyclic collector would
        # rescan the growing heap over and over (it made restores 2.5x slower).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for raw_key, raw in applied.items():
                if raw is not None:
                    self._apply(partition, raw_key, raw, report)
            for hook in self._restored:
                hook()
        finally:
            if collecting:
                gc.enable()
        if positions is not None:
            report.positions = {(topic, partition): o for topic, o in positions.items()}
            self._written[partition] = positions
        return report

    def _apply(self, partition: int, raw_key: bytes, raw: bytes, report: RestoreReport) -> None:
        try:
            parts = _key_decoder.decode(raw_key)
            name = parts[0]
            if len(parts) == 2 and name in self._tables:
                self._tables[name]._restore(_plain(parts[1]), raw, partition)
                report.count(name)
            elif len(parts) == 3 and name in self._logs and isinstance(parts[2], int):
                items = self._logs[name]._restore(_plain(parts[1]), parts[2], raw, partition)
                report.count(name, items)
            else:
                report.refused += 1
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError,
                IndexError):
            report.refused += 1

    def take_refused(self) -> int:
        """Restored values of lazy tables that did not decode when first read, since the
        last call (a restore refuses the others at once, ``RestoreReport.refused``)."""
        refused = 0
        for table in self._tables.values():
            refused, table.refused = refused + table.refused, 0
        return refused

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget everything of partitions another worker owns now."""
        gone = set(partitions)
        for table in self._tables.values():
            table._drop(gone)
        for log in self._logs.values():
            log._drop(gone)
        self._repair = [r for r in self._repair if r[0] not in gone]
        for partition in gone:
            self._written.pop(partition, None)
