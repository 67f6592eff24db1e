"""What ``campaignpulse bench`` reads besides clocks: resident memory and the size of state.

Memory is read from ``/proc/self/status`` (Linux): the resident set now, and its peak
since :func:`reset_peak` (the kernel resets ``VmHWM`` when "5" is written to
``/proc/self/clear_refs``), so each round's growth above its own baseline is measured,
not the peak of everything the process did before it.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from campaignpulse.streams.pipeline import EngagementPipeline

_STATUS = Path("/proc/self/status")


def _status_mb(field: str) -> float:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb() -> float:
    """Resident memory now, MB (0.0 where /proc is not there)."""
    return _status_mb("VmRSS")


def peak_mb() -> float:
    """Peak resident memory since the last :func:`reset_peak`, MB."""
    return _status_mb("VmHWM")


def reset_peak() -> bool:
    """Start a new peak; False where the kernel does not allow it (then the peak is the
    process's, and growth figures are upper bounds)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def deep_size(roots: Iterable[Any], seen: set[int]) -> int:
    """Bytes of these objects and everything they hold that ``seen`` does not hold yet
    (``sys.getsizeof`` of each object once: containers, slots and ``__dict__`` followed)."""
    total = 0
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, str | bytes | int | float | bool) or obj is None:
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        else:
            for cls in type(obj).__mro__:
                slots = getattr(cls, "__slots__", ())
                stack.extend(getattr(obj, name) for name in slots if hasattr(obj, name))
            if hasattr(obj, "__dict__"):
                stack.append(vars(obj))
    return total


#: entries of a table measured one by one; a larger table is measured on an even sample
SAMPLE = 2_000


def _entries_size(maps: list[dict[Any, Any]], seen: set[int]) -> int:
    """Bytes of these key → value maps (keyed alike: the first names the keys), every
    ``n``-th key measured in all of them and scaled up, plus the maps themselves."""
    keys = list(maps[0])
    step = max(1, len(keys) // SAMPLE)
    sampled = keys[::step]
    size = sum(deep_size([key, *(m[key] for m in maps if key in m)], seen) for key in sampled)
    return size * len(keys) // max(1, len(sampled)) + sum(sys.getsizeof(m) for m in maps)


def state_bytes(pipeline: EngagementPipeline) -> dict[str, int]:
    """Bytes of live state per table and log of the store (values, keys and what they
    hold; an object shared between tables counts for the first)."""
    store = pipeline.store
    seen: set[int] = set()
    sizes: dict[str, int] = {}
    for name, table in store._tables.items():
        if table.values:
            sizes[name] = _entries_size([table.values, table._partition], seen)
    for name, log in store._logs.items():
        if log._partition:
            sizes[name] = _entries_size([log._partition, log._unsaved, log._chunks], seen)
    return sizes


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def medians(rounds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    keys = {key: None for r in rounds for key in r}
    return {key: median(r.get(key, 0.0) for r in rounds) for key in keys}
