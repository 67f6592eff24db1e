"""Why a labelled window was missed: the values around it and the detector's evidence.

Points are lost to missed windows more than to late detections (``crossval
--detections``), so each miss is printed with what would name its mechanism: how the
window's values differ from the rows before it (a shift small against their spread, a
drop, a burst inside the range seen before), the strongest channels at the window's
highest score, whether a hold was open there, and how high the file scores outside its
windows (where ordinary stretches score higher, no threshold can reach the window alone).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from campaignpulse.streams.spikes import nab
from campaignpulse.streams.spikes.detector import EVIDENCE, AnomalyDetector

if TYPE_CHECKING:
    from campaignpulse.streams.spikes.crossval import Scores, Series

#: rows before a window that describe what the series was like
BEFORE = 200


@dataclass(frozen=True)
class Miss:
    name: str
    window: tuple[int, int]  # first and last row
    threshold: float
    peak: float  # the highest score inside the window
    peak_row: int
    held: bool  # a hold was open at the peak (it damps evidence no stronger than its own)
    channels: tuple[tuple[str, float], ...]  # the two strongest at the peak, -log10 tail
    #: mean, spread, least, most of the rows before the window and of the window
    before: tuple[float, float, float, float]
    inside: tuple[float, float, float, float]
    range_before: tuple[float, float]  # every value seen before the window
    outside_peak: float  # the highest score outside windows, after probation


def _summary(values: Sequence[float]) -> tuple[float, float, float, float]:
    return statistics.fmean(values), statistics.pstdev(values), min(values), max(values)


def misses(
    corpus: Sequence[Series], scores: Scores, thresholds: Mapping[str, float]
) -> list[Miss]:
    """Every window without a detection at its category's threshold; the evidence is a
    default detector's, as ``scores`` must be."""
    out = []
    for s in corpus:
        out.extend(_series_misses(s, scores[s.name], thresholds[s.category]))
    return out


def _series_misses(s: Series, scores: list[float], threshold: float) -> list[Miss]:
    index = {k: i for i, k in enumerate(s.keys)}
    windows = [(index[a], index[b]) for a, b in s.windows]
    missed = [(a, b) for a, b in windows if max(scores[a:b + 1]) < threshold]
    if not missed:
        return []
    peaks = {(a, b): max(range(a, b + 1), key=scores.__getitem__) for a, b in missed}
    wanted = set(peaks.values())
    detector = AnomalyDetector()
    seen: dict[int, tuple[bool, list[float]]] = {}
    for i, (t, x) in enumerate(zip(s.times, s.values, strict=True)):
        held = detector.elapsed < detector.hold_until
        detector.update(t, x)
        if i in wanted:
            seen[i] = (held, list(detector.evidence))
    inside = [any(a <= i <= b for a, b in windows) for i in range(len(scores))]
    probation = nab.probation_length(len(scores))
    outside_peak = max(
        (v for i, v in enumerate(scores) if i >= probation and not inside[i]), default=0.0)
    out = []
    for (a, b), peak in peaks.items():
        held, evidence = seen[peak]
        top = sorted(range(len(EVIDENCE)), key=lambda k: -evidence[k])[:2]
        before = s.values[max(0, a - BEFORE):a] or s.values[:1]
        everything_before = s.values[:a] or before
        out.append(Miss(
            s.name, (a, b), threshold, scores[peak], peak, held,
            tuple((EVIDENCE[k], evidence[k]) for k in top), _summary(before),
            _summary(s.values[a:b + 1]), (min(everything_before), max(everything_before)),
            outside_peak,
        ))
    return out


def misses_table(found: Sequence[Miss]) -> str:
    lines = [
        "| file | window (rows) | peak score (row) / threshold | held | strongest evidence "
        "at the peak (-log10 tail) | before: mean ± sd [min, max] | window: mean ± sd "
        "[min, max] | range before | highest score outside windows |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def stats(v: tuple[float, float, float, float]) -> str:
        return f"{v[0]:.4g} ± {v[1]:.3g} [{v[2]:.4g}, {v[3]:.4g}]"

    for m in found:
        evidence = ", ".join(f"{name} {value:.2f}" for name, value in m.channels)
        lines.append(
            f"| {m.name} | {m.window[0]}-{m.window[1]} | {m.peak:.3f} ({m.peak_row}) / "
            f"{m.threshold:.3f} | {'yes' if m.held else 'no'} | {evidence} | "
            f"{stats(m.before)} | {stats(m.inside)} | [{m.range_before[0]:.4g}, "
            f"{m.range_before[1]:.4g}] | {m.outside_peak:.3f} |")
    return "\n".join(lines)
