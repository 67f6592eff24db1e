"""The two kinds of state an operator keeps in the store: tables and logs.

A :class:`Table` maps a key to the live value the operator reads and changes; a
:class:`Log` takes items appended to a key and writes them as numbered chunks, once.
Both remember what changed since the last checkpoint and which input partition each key
belongs to; the :class:`~campaignpulse.streams.state.store.Store` turns that into
changelog records and back.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import msgspec

V = TypeVar("V")
T = TypeVar("T")
Owner = TypeVar("Owner")

#: (changelog partition, key, value or None for a deletion)
ChangelogRecord = tuple[int, bytes, bytes | None]

#: items per log chunk; the store's users keep an item under ~4.2 KB, so a chunk stays
#: well below Kafka's 1 MB message limit
CHUNK_ITEMS = 200

_encode = msgspec.msgpack.Encoder().encode


class Table(Generic[V]):
    """Key → value, the values being what the operator reads (``values``).

    A *lazy* table keeps restored values as the bytes they were written as and decodes
    one on its first ``get``: a restore then costs no decoding for values that are big
    and seldom read (a creator's detector is read at its next follower snapshot only).
    Its values are read through ``get``, never ``values``.
    """

    def __init__(self, name: str, encode: Callable[[V], bytes],
                 decode: Callable[[bytes], V], lazy: bool = False) -> None:
        self.name = name
        self._encode = encode
        self._decode = decode
        self.lazy = lazy
        #: read freely (unless lazy); write through put/touch/delete
        self.values: dict[Any, V] = {}
        #: lazy: restored values not read yet, as written
        self._raw: dict[Any, bytes] = {}
        #: lazy: restored values that did not decode when first read (dropped, counted)
        self.refused = 0
        self._partition: dict[Any, int] = {}
        self._dirty: set[Any] = set()
        #: keys with a value in the changelog: only they need a deletion written
        self._durable: set[Any] = set()

    def __len__(self) -> int:
        return len(self.values) + len(self._raw)

    def get(self, key: Hashable) -> V | None:
        value = self.values.get(key)
        if value is None and self._raw:
            raw = self._raw.pop(key, None)
            if raw is not None:
                try:
                    value = self.values[key] = self._decode(raw)
                except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
                    self.refused += 1  # as a restore refuses it: the key starts afresh
                    self.delete(key)
        return value

    def partition(self, key: Hashable) -> int | None:
        return self._partition.get(key)

    def put(self, key: Hashable, value: V, partition: int) -> None:
        """Store ``value``; a key stays with the partition that first put it."""
        self.values[key] = value
        if self._raw:
            self._raw.pop(key, None)
        self._partition.setdefault(key, partition)
        self._dirty.add(key)

    def touch(self, key: Hashable) -> None:
        """The value of ``key`` changed in place."""
        if self._raw and key in self._raw:  # lazy, not read yet: written as it is read
            self.get(key)
        self._dirty.add(key)

    def delete(self, key: Hashable) -> None:
        self.values.pop(key, None)
        if self._raw:
            self._raw.pop(key, None)
        if key in self._durable:
            self._dirty.add(key)
        else:
            self._dirty.discard(key)
            self._partition.pop(key, None)

    def _changes(self, out: list[ChangelogRecord]) -> None:
        encode, name = self._encode, self.name
        values = self.values
        for key in self._dirty:
            partition = self._partition[key]
            raw_key = _encode([name, key])
            if key in values:
                out.append((partition, raw_key, encode(values[key])))
                self._durable.add(key)
            else:
                out.append((partition, raw_key, None))
                self._durable.discard(key)
                del self._partition[key]
        self._dirty.clear()

    def _restore(self, key: Hashable, raw: bytes, partition: int) -> None:
        if self.lazy:
            self.values.pop(key, None)
            self._raw[key] = raw
        else:
            self.values[key] = self._decode(raw)
        self._partition[key] = partition
        self._durable.add(key)

    def _drop(self, partitions: set[int]) -> None:
        gone = [k for k, p in self._partition.items() if p in partitions]
        for key in gone:
            self.values.pop(key, None)
            self._raw.pop(key, None)
            del self._partition[key]
            self._dirty.discard(key)
            self._durable.discard(key)


class Log(Generic[T]):
    """Key → items appended, written as numbered chunks that are never rewritten.

    Only items not yet written stay here; those read back by a restore wait in
    ``restored`` until the operator folds them into its tables (``take_restored``).
    """

    def __init__(self, name: str, item: type[T], chunk_items: int = CHUNK_ITEMS) -> None:
        self.name = name
        self.chunk_items = chunk_items
        self._decode_chunk = msgspec.msgpack.Decoder(list[item]).decode  # type: ignore[valid-type]
        self._unsaved: dict[Any, list[T]] = {}
        self._chunks: dict[Any, int] = {}
        self._partition: dict[Any, int] = {}
        #: (partition, key, chunks) of deleted keys whose chunks must be nulled
        self._dead: list[tuple[int, Any, int]] = []
        self._restored: dict[Any, dict[int, list[T]]] = {}

    def append(self, key: Hashable, item: T, partition: int) -> None:
        unsaved = self._unsaved.get(key)
        if unsaved is None:
            unsaved = self._unsaved[key] = []
            self._partition.setdefault(key, partition)
        unsaved.append(item)

    def delete(self, key: Hashable) -> None:
        self._unsaved.pop(key, None)
        chunks = self._chunks.pop(key, 0)
        partition = self._partition.pop(key, None)
        if chunks and partition is not None:
            self._dead.append((partition, key, chunks))

    def keys(self) -> Iterable[Any]:
        return self._partition.keys()

    def take_restored(
        self, owner: Callable[[Any], Owner | None]
    ) -> list[tuple[Any, Owner, list[T]]]:
        """Items read back by the last restore, per key in append order, with the value
        ``owner`` says the key belongs to (once); a key whose owner is gone is deleted."""
        restored, self._restored = self._restored, {}
        out = []
        for key, chunks in restored.items():
            found = owner(key)
            if found is None:
                self.delete(key)
            else:
                out.append((key, found, [item for n in sorted(chunks) for item in chunks[n]]))
        return out

    def _changes(self, out: list[ChangelogRecord]) -> None:
        name, size = self.name, self.chunk_items
        for partition, key, chunks in self._dead:
            out.extend((partition, _encode([name, key, n]), None) for n in range(chunks))
        self._dead.clear()
        for key, items in self._unsaved.items():
            partition = self._partition[key]
            first = self._chunks.get(key, 0)
            out.extend((partition, _encode([name, key, first + i // size]),
                        _encode(items[i:i + size])) for i in range(0, len(items), size))
            self._chunks[key] = first + -(-len(items) // size)
        self._unsaved.clear()

    def _restore(self, key: Hashable, n: int, raw: bytes, partition: int) -> int:
        items = self._decode_chunk(raw)
        self._restored.setdefault(key, {})[n] = items
        self._partition[key] = partition
        self._chunks[key] = max(self._chunks.get(key, 0), n + 1)
        return len(items)

    def _drop(self, partitions: set[int]) -> None:
        gone = [k for k, p in self._partition.items() if p in partitions]
        for key in gone:
            del self._partition[key]
            self._unsaved.pop(key, None)
            self._chunks.pop(key, None)
            self._restored.pop(key, None)
        self._dead = [d for d in self._dead if d[0] not in partitions]
