"""The cyclic collector out of the hot loop: frozen state, and memory that stays bounded."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from campaignpulse.worker.collector import Collector


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> _Node:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return a


@pytest.fixture
def clock() -> Iterator[list[float]]:
    now = [0.0]
    yield now
    gc.unfreeze()
    gc.collect()


def _run(collector: Collector, now: list[float], batches: int) -> list[int]:
    """Batches a minute apart, each leaving behind cycles the previous batch froze; the
    frozen count after each."""
    collector.start()
    held: list[_Node] = []
    frozen = []
    for _ in range(batches):
        held = [_cycle() for _ in range(200)]  # the last batch's cycles are garbage now
        now[0] += 60.0
        collector.batch_done()
        frozen.append(gc.get_freeze_count())
    del held
    return frozen


def test_frozen_cyclic_garbage_is_collected_by_the_periodic_full_collection(
    clock: list[float],
) -> None:
    collector = Collector(full_every_s=300.0, clock=lambda: clock[0])
    frozen = _run(collector, clock, batches=60)
    collector.stop()
    assert collector.full_collections == 12  # one per five minutes of the hour
    # bounded: the freeze count after the last full collection is no higher than after
    # the first, however long the run
    assert max(frozen[-10:]) <= max(frozen[:10]) + 5 * 200 * 2 * 2


def test_without_full_collections_frozen_cycles_pile_up(clock: list[float]) -> None:
    """The check above can fail: with no full collection the garbage stays."""
    collector = Collector(full_every_s=float("inf"), clock=lambda: clock[0])
    frozen = _run(collector, clock, batches=60)
    collector.stop()
    assert frozen[-1] - frozen[0] >= 59 * 200 * 2


def test_a_frozen_cycle_is_freed_by_collect_and_stop_unfreezes(clock: list[float]) -> None:
    collector = Collector(clock=lambda: clock[0])
    collector.start()
    node = _cycle()
    gone = weakref.ref(node)
    collector.batch_done()
    del node
    gc.collect()
    assert gone() is not None  # frozen: out of the collector's sight
    collector.collect()
    assert gone() is None
    young = gc.get_threshold()[0]
    collector.stop()
    assert gc.get_freeze_count() == 0 and gc.get_threshold()[0] < young
