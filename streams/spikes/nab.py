"""The Numenta Anomaly Benchmark scoring method, as NAB's own sweeper computes it.

Kept beside the detector so ``spikes evaluate`` measures exactly the code the worker
runs. One threshold is chosen per profile by sweeping every distinct score over the
whole corpus; windows reward only their earliest detection; false positives cost
more the further they fall behind the previous window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROBATION_FRACTION = 0.15
PROBATION_CAP = 750


@dataclass(frozen=True)
class CostProfile:
    tp: float
    fn: float
    fp: float


PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile(tp=1.0, fn=1.0, fp=0.11),
    "reward_low_FP_rate": CostProfile(tp=1.0, fn=1.0, fp=0.22),
    "reward_low_FN_rate": CostProfile(tp=1.0, fn=2.0, fp=0.11),
}


@dataclass(frozen=True)
class ScoredRow:
    """One non-probationary row: its detector score and what a detection there is worth."""

    anomaly_score: float
    weight: float
    #: ``file|window start`` inside a labelled window, ``None`` outside every window
    window: str | None


def scaled_sigmoid(y: float) -> float:
    """NAB's 2/(1+e^(5y)) - 1, pinned to -1 from three widths past a window on."""
    if y >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation_length(n_rows: int) -> int:
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_CAP)


def sweep_rows(
    name: str,
    timestamps: Sequence[str],
    scores: Sequence[float],
    windows: Sequence[tuple[str, str]],
    profile: CostProfile,
) -> list[ScoredRow]:
    """Weigh every row of one file; ``windows`` are (first, last) timestamps, in order."""
    if len(timestamps) != len(scores):
        raise ValueError(f"{name}: {len(timestamps)} timestamps but {len(scores)} scores")
    index = {ts: i for i, ts in enumerate(timestamps)}
    spans = []
    for start, end in windows:
        if start not in index or end not in index:
            raise ValueError(f"{name}: window {start}..{end} is not on the file's rows")
        spans.append((index[start], index[end], f"{name}|{start}"))
    max_tp = scaled_sigmoid(-1.0)
    probation = probation_length(len(timestamps))
    rows: list[ScoredRow] = []
    prev_right: int | None = None
    prev_width = 0.0
    k = 0
    for i, score in enumerate(scores):
        while k < len(spans) and spans[k][1] < i:
            prev_right, prev_width = spans[k][1], float(spans[k][1] - spans[k][0] + 1)
            k += 1
        window: str | None = None
        if k < len(spans) and spans[k][0] <= i:
            left, right, window = spans[k]
            width = float(right - left + 1)
            weight = scaled_sigmoid(-(right - i + 1) / width) * profile.tp / max_tp
        elif prev_right is None:
            weight = -profile.fp
        else:
            past = abs(prev_right - i) / (prev_width - 1) if prev_width > 1 else 3.0
            weight = scaled_sigmoid(past) * profile.fp
        if i >= probation:
            rows.append(ScoredRow(float(score), weight, window))
    return rows


@dataclass(frozen=True)
class SweepResult:
    threshold: float
    raw: float
    windows: int
    normalised: float


def best_threshold(rows: Iterable[ScoredRow], profile: CostProfile) -> SweepResult:
    """Sweep every distinct score, highest first, and keep the best corpus total.

    Ties go to the higher threshold, as in NAB, where the first best row wins.
    """
    ordered = sorted(rows, key=lambda r: r.anomaly_score, reverse=True)
    windows = {r.window: -profile.fn for r in ordered if r.window is not None}
    n_windows = len(windows)
    fp_total = 0.0
    window_total = -profile.fn * n_windows
    best = (1.1, window_total)
    i = 0
    while i < len(ordered):
        threshold = ordered[i].anomaly_score
        while i < len(ordered) and ordered[i].anomaly_score == threshold:
            row = ordered[i]
            if row.window is None:
                fp_total += row.weight
            elif row.weight > windows[row.window]:
                window_total += row.weight - windows[row.window]
                windows[row.window] = row.weight
            i += 1
        if fp_total + window_total > best[1]:
            best = (threshold, fp_total + window_total)
    return SweepResult(best[0], best[1], n_windows, normalise(best[1], n_windows, profile))


def total_at(rows: Iterable[ScoredRow], profile: CostProfile, threshold: float) -> float:
    """The raw score of a fixed threshold, as NAB's ``scoreDataSet`` reports it."""
    fp_total = 0.0
    windows: dict[str, float] = {}
    for row in rows:
        if row.window is not None:
            best = windows.setdefault(row.window, -profile.fn)
            if row.anomaly_score >= threshold and row.weight > best:
                windows[row.window] = row.weight
        elif row.anomaly_score >= threshold:
            fp_total += row.weight
    return fp_total + sum(windows.values())


def normalise(raw: float, n_windows: int, profile: CostProfile) -> float:
    """100 for a perfect detector, 0 for one that never fires."""
    perfect = profile.tp * n_windows
    null = -profile.fn * n_windows
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)
