"""The change-logging store: what a checkpoint writes, and what a restore applies."""

from __future__ import annotations

import msgspec

from campaignpulse.streams.state.store import Store

decode = msgspec.msgpack.decode


def store_with_state() -> tuple[Store, object, object]:
    store = Store()
    table = store.structs("t", int)
    log = store.log("l", str, chunk_items=2)
    return store, table, log


def keys(records: list) -> list:
    return [(p, decode(k)[0], v is None) for p, k, v in records]


def test_only_changes_are_written_with_a_position_record_per_partition() -> None:
    store, table, log = store_with_state()
    table.put("a", 1, 0)
    table.put("b", 2, 1)
    log.append("x", "e1", 0)
    log.append("x", "e2", 0)
    log.append("x", "e3", 0)
    written = store.changes({("topic", 0): 5, ("topic", 1): 9})
    assert sorted(keys(written)) == sorted([
        (0, "l", False), (0, "l", False), (0, "t", False), (1, "t", False),
        (0, "pos", False), (1, "pos", False)])
    assert store.changes({("topic", 0): 5, ("topic", 1): 9}) == []  # nothing changed
    # a partition that only read on gets its positions written, nothing else
    assert keys(store.changes({("topic", 0): 7, ("topic", 1): 9})) == [(0, "pos", False)]


def test_a_key_deleted_before_it_was_written_writes_nothing() -> None:
    store, table, log = store_with_state()
    table.put("a", 1, 0)
    table.delete("a")
    log.append("x", "e1", 0)
    log.delete("x")
    assert keys(store.changes({})) == []
    table.put("b", 1, 0)
    log.append("y", "e1", 0)
    store.changes({})
    table.delete("b")
    log.delete("y")
    assert sorted(keys(store.changes({}))) == [(0, "l", True), (0, "pos", False),
                                              (0, "t", True)]


def test_log_chunks_are_written_once_and_read_back_in_order() -> None:
    store, _, log = store_with_state()
    written = []
    for i in range(5):
        log.append("x", f"e{i}", 3)
        written += store.changes({("topic", 3): i + 1})
    chunk_numbers = [decode(k)[2] for _, k, _ in written if decode(k)[0] == "l"]
    assert chunk_numbers == [0, 1, 2, 3, 4]  # one new chunk per checkpoint, never rewritten
    restored, _, restored_log = store_with_state()
    report = restored.restore(3, [(k, v) for _, k, v in written])
    assert restored_log.take_restored(lambda key: "owner") == [
        ("x", "owner", ["e0", "e1", "e2", "e3", "e4"])]
    assert report.positions == {("topic", 3): 5} and report.items == {"l": 5}


def test_restored_items_without_an_owner_are_deleted() -> None:
    store, _, log = store_with_state()
    log.append("kept", "a", 0)
    log.append("orphan", "b", 0)
    written = store.changes({})
    restored, _, restored_log = store_with_state()
    restored.restore(0, [(k, v) for _, k, v in written])
    assert restored_log.take_restored({"kept": 1}.get) == [("kept", 1, ["a"])]
    deleted = [decode(k)[1] for _, k, v in restored.changes({}) if v is None]
    assert deleted == ["orphan"]


def test_a_checkpoint_cut_short_is_not_applied_and_is_undone_at_the_next() -> None:
    store, table, _ = store_with_state()
    table.put("a", 1, 0)
    complete = store.changes({("topic", 0): 10})
    table.put("a", 2, 0)
    table.put("new", 3, 0)
    cut_short = store.changes({("topic", 0): 20})[:-1]  # the crash: no position record
    restored, restored_table, _ = store_with_state()
    report = restored.restore(0, [(k, v) for _, k, v in complete + cut_short])
    assert restored_table.values == {"a": 1}
    assert report.positions == {("topic", 0): 10} and report.unfinished == 2
    # the next checkpoint writes "a" back as it was and deletes "new"
    repair = {decode(k)[1]: v for _, k, v in restored.changes({}) if decode(k)[0] == "t"}
    assert repair == {"a": msgspec.msgpack.encode(1), "new": None}


def test_dropped_partitions_leave_memory_and_write_nothing() -> None:
    store, table, log = store_with_state()
    table.put("a", 1, 0)
    table.put("b", 2, 1)
    log.append("x", "e", 1)
    store.drop([1])
    assert table.values == {"a": 1}
    assert {p for p, _, _ in store.changes({("topic", 0): 1})} == {0}


def test_names_are_unique() -> None:
    store = Store()
    store.structs("t", int)
    for make in (lambda: store.structs("t", int), lambda: store.log("t", str),
                 lambda: store.log("pos", str)):
        try:
            make()
        except ValueError:
            continue
        raise AssertionError("a taken name was accepted")


def test_a_lazy_table_decodes_a_restored_value_when_first_read() -> None:
    decoded: list[bytes] = []

    def decode_counted(raw: bytes) -> int:
        decoded.append(raw)
        return int(msgspec.msgpack.decode(raw, type=int))

    live = Store()
    table = live.table("t", msgspec.msgpack.encode, decode_counted, lazy=True)
    table.put("a", 1, 0)
    table.put("b", 2, 0)
    table.put("bad", 3, 0)
    written = live.changes({("topic", 0): 5})
    # a value that no longer decodes (another release wrote it)
    written = [(p, k, b"\xc1" if decode(k) == ["t", "bad"] else v) for p, k, v in written]
    restored = Store()
    lazy = restored.table("t", msgspec.msgpack.encode, decode_counted, lazy=True)
    report = restored.restore(0, [(k, v) for _, k, v in written])
    assert report.keys == {"t": 3} and report.refused == 0
    assert decoded == [] and len(lazy) == 3
    assert lazy.get("a") == 1 and lazy.get("a") == 1 and len(decoded) == 1
    assert lazy.get("bad") is None and restored.take_refused() == 1
    assert restored.take_refused() == 0 and len(lazy) == 2
    # the refused key is deleted from the changelog; an unread one is not rewritten
    assert keys(restored.changes({("topic", 0): 5})) == [(0, "t", True), (0, "pos", False)]
    restored.drop([0])
    assert len(lazy) == 0 and lazy.get("b") is None
