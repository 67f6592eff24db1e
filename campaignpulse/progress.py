"""A progress bar for long publishing (events, rate, ETA), on a terminal only."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: Called with the number of events sent so far.
ProgressCallback = Callable[[int], None]


@contextlib.contextmanager
def publish_progress(
    total: int | None, console: Console | None = None
) -> Iterator[ProgressCallback | None]:
    """Yields a callback for ``Publisher.publish``, or None when stderr is no terminal."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("publish", total=total, rate="")

        def advance(sent: int) -> None:
            speed = progress.tasks[0].speed
            progress.update(task, completed=sent,
                            rate=f"{speed:,.0f} events/s" if speed else "")

        yield advance


def count_lines(path: Path) -> int:
    """The bar's total for a JSONL file: one event per line."""
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
