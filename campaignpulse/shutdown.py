"""Signals for long-running commands: the first stops cleanly, a second one quits at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading


class Shutdown:
    """``event`` for coroutines and ``flag`` for threads (the publisher) are set together."""

    #: a second signal cancelled the command: the CLI exits 130 without its summary
    interrupted = False

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.flag = threading.Event()
        self.signal: int | None = None
        self._task: asyncio.Task[object] | None = None

    def install(self) -> Shutdown:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self._received, sig)
        return self

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def exit_code(self, sigterm: int) -> int:
        """0 when nothing came; ``sigterm`` for SIGTERM; 128 + n for any other signal."""
        if self.signal is None:
            return 0
        return sigterm if self.signal == signal.SIGTERM else 128 + self.signal

    def _received(self, sig: int) -> None:
        if self.signal is None:
            self.signal = sig
            self.event.set()
            self.flag.set()
            print("stopping: finishing the current batch (again to quit at once)",
                  file=sys.stderr, flush=True)
        elif self._task is not None:
            Shutdown.interrupted = True
            self._task.cancel()
