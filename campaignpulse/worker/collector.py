"""Python's cyclic garbage collector, kept out of the hot loop.

The state is millions of small long-lived objects without cycles among them (windows,
sets of actor ids, detectors); every full collection walks all of them, again and again
as the heap grows: 18 % of the worker's time at 200 creators, more at 100k (issue 20).
So after start-up and after each batch everything alive is moved out of the collector's
sight (``gc.freeze()``, which is O(1)): collections then look only at what the current
batch allocated, and less often (a higher first threshold). Objects freed by reference
counting are freed as before, frozen or not; only cyclic garbage among frozen objects
waits, until a full collection every ``full_every_s`` (unfreeze, collect, freeze), which
keeps memory bounded over a long run.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator

#: allocations between young collections while the worker runs (Python's default: 700)
YOUNG_THRESHOLD = 50_000
#: seconds between full collections of everything, frozen included
FULL_EVERY_S = 300.0

_ORIGINAL = gc.get_threshold()


class Collector:
    def __init__(self, full_every_s: float = FULL_EVERY_S,
                 young_threshold: int = YOUNG_THRESHOLD,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.full_every_s = full_every_s
        self.young_threshold = young_threshold
        self.full_collections = 0
        self._clock = clock
        self._running = False
        self._last_full = clock()

    def start(self) -> None:
        """Start-up or a restore is done: what is alive now stays alive."""
        if not self._running:
            self._running = True
            young, older, oldest = _ORIGINAL
            gc.set_threshold(max(young, self.young_threshold), older, oldest)
        gc.freeze()

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """A restore: hundreds of thousands of records read and millions of state objects
        made, none cyclic. Collections meanwhile would walk them again and again (a full
        one each time the new objects pass a quarter of the heap); afterwards they are
        frozen, so none walks them until the next full collection."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            gc.freeze()
            if collecting:
                gc.enable()

    def batch_done(self) -> None:
        """After a batch: freeze what it left alive; now and then, collect everything."""
        if not self._running:
            return
        if self._clock() - self._last_full >= self.full_every_s:
            self.collect()
        gc.freeze()

    def collect(self) -> None:
        """A full collection, frozen objects included."""
        gc.unfreeze()
        gc.collect()
        self.full_collections += 1
        self._last_full = self._clock()
        if self._running:
            gc.freeze()

    def stop(self) -> None:
        """Thresholds as they were; frozen objects back in sight."""
        if self._running:
            self._running = False
            gc.set_threshold(*_ORIGINAL)
            gc.unfreeze()
