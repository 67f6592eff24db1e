"""A flush written in the background keeps the order rows → changelog → commit, commits
only what is durable, and retries a refused cut first (the engines' tests run it on real
Kafka and ClickHouse; this pins the order with a recording sink, changelog and commit)."""

from __future__ import annotations

import asyncio
from typing import Any

from campaignpulse.sinks.writer import PendingWrites
from campaignpulse.streams.contract import FollowerSnapshot
from campaignpulse.worker.checkpoint import Checkpoint, Offsets
from campaignpulse.worker.outputs import WorkerStats


class _Pipeline:
    def __init__(self) -> None:
        self.offset = 0
        self.gate = self

    def checkpoint(self, now_ms: int, idle_ms: int | None = None) -> list[Any]:
        return [(0, b"k%d" % self.offset, b"v")]

    def commit_positions(self) -> Offsets:
        return {("t", 0): self.offset}

    def open_windows(self) -> int:
        return 0

    def take_mismatches(self) -> int:
        return 0

    def take_refused(self) -> int:
        return 0


class _Outputs:
    def __init__(self) -> None:
        self.stats = WorkerStats()

    async def drain(self) -> None:
        return None

    def take_undeliverable(self) -> list[Any]:
        return []


class _Recorder:
    """The sink, the changelog and the commit, writing into one log."""

    def __init__(self) -> None:
        self.log: list[tuple[str, object]] = []
        self.refuse = 0
        self.gate = asyncio.Event()

    def write(self, pending: PendingWrites) -> list[Any]:
        if self.refuse:
            self.refuse -= 1
            raise ConnectionError("warehouse down")
        self.log.append(("rows", len(pending.snapshots)))
        return []

    async def changelog(self, records: list[Any]) -> None:
        await self.gate.wait()
        self.log.append(("changelog", records[0][1]))

    async def commit(self, offsets: Offsets) -> None:
        self.log.append(("commit", offsets[("t", 0)]))


def _checkpoint(recorder: _Recorder, pipeline: _Pipeline) -> Checkpoint:
    changelog: Any = type("C", (), {"write": staticmethod(recorder.changelog)})()
    return Checkpoint(pipeline, recorder, _Outputs(), changelog, None)  # type: ignore[arg-type]


def _snapshot() -> FollowerSnapshot:
    return FollowerSnapshot("c", 1, 1, 0)


def test_a_background_flush_commits_only_after_rows_and_changelog() -> None:
    async def run() -> list[tuple[str, object]]:
        recorder, pipeline = _Recorder(), _Pipeline()
        checkpoint = _checkpoint(recorder, pipeline)
        checkpoint.pending.snapshots.append(_snapshot())
        pipeline.offset = 5
        assert await checkpoint.flush(recorder.commit, wait=False)
        # the engine reads on: a batch after the cut belongs to the next flush
        pipeline.offset = 9
        checkpoint.pending.snapshots.extend([_snapshot(), _snapshot()])
        await asyncio.sleep(0.05)
        assert ("commit", 5) not in recorder.log  # the changelog is not acknowledged yet
        recorder.gate.set()
        assert await checkpoint.flush(recorder.commit, wait=True)
        return recorder.log

    assert asyncio.run(run()) == [("rows", 1), ("changelog", b"k5"), ("commit", 5),
                                  ("rows", 2), ("changelog", b"k9"), ("commit", 9)]


def test_a_refused_cut_is_written_first_on_the_next_flush_and_nothing_is_committed() -> None:
    async def run() -> tuple[bool, list[tuple[str, object]]]:
        recorder, pipeline = _Recorder(), _Pipeline()
        recorder.gate.set()
        recorder.refuse = 1
        checkpoint = _checkpoint(recorder, pipeline)
        checkpoint.pending.snapshots.append(_snapshot())
        pipeline.offset = 3
        assert await checkpoint.flush(recorder.commit, wait=False)
        refused = await checkpoint.settled()
        assert recorder.log == []  # nothing written, nothing committed
        pipeline.offset = 7
        checkpoint.pending.snapshots.extend([_snapshot(), _snapshot()])
        assert await checkpoint.flush(recorder.commit, wait=True)
        return refused, recorder.log

    refused, log = asyncio.run(run())
    assert refused is False
    assert log == [("rows", 1), ("changelog", b"k3"), ("rows", 2), ("changelog", b"k7"),
                   ("commit", 7)]


def test_a_rebalance_flush_during_a_background_write_writes_every_cut_once_in_order() -> None:
    """The loop's write is in flight when a revoke flushes (waiting): the cut the loop
    made and the revoke's cut are each written once, in order, and committed."""

    async def run() -> list[tuple[str, object]]:
        recorder, pipeline = _Recorder(), _Pipeline()
        checkpoint = _checkpoint(recorder, pipeline)
        checkpoint.pending.snapshots.append(_snapshot())
        pipeline.offset = 4
        async with checkpoint.lock:  # the loop holds the lock while it cuts
            revoke = asyncio.create_task(checkpoint.flush(recorder.commit, wait=True))
            await asyncio.sleep(0.01)  # the revoke's flush found no write in flight
            checkpoint._unwritten.append(await checkpoint._cut())
            checkpoint._writing = asyncio.create_task(checkpoint._write(recorder.commit))
        pipeline.offset = 8
        checkpoint.pending.snapshots.extend([_snapshot(), _snapshot()])
        await asyncio.sleep(0.01)
        recorder.gate.set()
        assert await revoke
        assert await checkpoint.settled()
        return recorder.log

    log = asyncio.run(run())
    assert [entry for entry in log if entry[0] == "changelog"] == [("changelog", b"k4"),
                                                                   ("changelog", b"k8")]
    assert log[:4] == [("rows", 1), ("changelog", b"k4"), ("rows", 2), ("changelog", b"k8")]
    assert ("commit", 8) in log
