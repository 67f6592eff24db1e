"""A synthetic second validation corpus in NAB's layout, from generic monitoring signals.

Why: the detector's parameters were chosen on a NAB subset, so a check on series it was
never tuned on catches pathologies (alarm storms on trends, seasonality and bursty counts;
misses on drifts, level shifts and flatlines) before they cost the unseen NAB categories.
Every family stands for a kind of behaviour, not for any NAB file.

Deterministic: series k of a family draws only from ``random.Random("<family>-<k>")``.
Labelled like NAB: one onset row per anomaly (a ramp is labelled at its start), a window
of floor(10 % of rows / anomalies) rows centred on it, every window after the first 15 %
of rows (probation) and no two overlapping.

    python3 -m tests.unit.streams.spikes.synthetic_corpus OUT_DIR
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from campaignpulse.producers.simulator import poisson

Series = tuple[list[float], list[float], list[int]]  # seconds from start, values, onsets
START = datetime(2016, 1, 4)  # a Monday; seed k starts 5k weeks later


def regular(n: int, minutes: float) -> list[float]:
    return [i * minutes * 60.0 for i in range(n)]


def irregular(rng: random.Random, n: int, mean_minutes: float) -> list[float]:
    """Exponential gaps, whole seconds, strictly increasing (timestamps stay unique)."""
    out, t = [], 0.0
    for _ in range(n):
        out.append(t)
        t += max(1.0, round(rng.expovariate(1.0 / (mean_minutes * 60.0))))
    return out


def cycle(sec: float, peak_hour: float) -> float:
    """1 at the peak hour of the day, 0 twelve hours away, smooth in between."""
    return 0.5 + 0.5 * math.cos(2.0 * math.pi * (sec / 3600.0 - peak_hour) / 24.0)


def weekend(sec: float) -> bool:
    return int(sec // 86400) % 7 >= 5


def onsets(rng: random.Random, n: int, m: int) -> list[int]:
    """m onsets well after probation, far enough apart that their windows never meet."""
    spans = {1: ((0.4, 0.8),), 2: ((0.3, 0.45), (0.65, 0.85))}[m]
    return [int(n * rng.uniform(a, b)) for a, b in spans]


def server_cpu(rng: random.Random, k: int) -> Series:
    """CPU %: noisy level, frequent short heavy-tailed spikes; anomaly: load stuck high."""
    n, minutes, hours, m = ((4000, 5, 6, 1), (6000, 1, 3, 1), (9000, 5, 10, 2))[k]
    level, sd, at = rng.uniform(15, 45), rng.uniform(1.5, 3.5), onsets(rng, n, m)
    shifts = [(o, o + int(hours * 60 / minutes), rng.uniform(20, 40)) for o in at]
    values, left, height = [], 0, 0.0
    for i in range(n):
        x = level + rng.gauss(0, sd)
        if left == 0 and rng.random() < 0.02:
            left, height = rng.randint(1, 3), min(60.0, 8.0 * rng.paretovariate(1.5))
        if left:
            x, left = x + height, left - 1
        x += sum(s for a, b, s in shifts if a <= i < b)
        values.append(min(100.0, max(0.0, x)))
    return regular(n, minutes), values, at


def outage_flatline(rng: random.Random, k: int) -> Series:
    """Low-noise service metric; anomalies: an outage (drop to 0), a stuck sensor."""
    n, minutes = ((5000, 5), (9000, 1))[k]
    secs, level = regular(n, minutes), rng.uniform(50, 200)
    values = [level * (1 + 0.03 * cycle(s, 14) + rng.gauss(0, 0.01)) for s in secs]
    drop, stuck = onsets(rng, n, 2)[:: 1 if k == 0 else -1]
    for i in range(drop, drop + rng.randint(30, 80)):
        values[i] = 0.0
    for i in range(stuck, stuck + int(n * rng.uniform(0.05, 0.08))):
        values[i] = values[stuck - 1]
    return secs, values, sorted((drop, stuck))


def seasonal_rate(rng: random.Random) -> Callable[[float], float]:
    lo, hi, peak, wk = rng.uniform(5, 15), rng.uniform(100, 200), rng.uniform(12, 20), 0.6
    return lambda s: lo + (hi - lo) * cycle(s, peak) * (wk if weekend(s) else 1.0)


def seasonal_counts(rng: random.Random, k: int) -> Series:
    """Event counts with daily and weekly cycles and benign bursts; anomaly: a 5-10x burst."""
    n, minutes, m = ((6000, 5, 1), (10000, 5, 2), (4000, 30, 1))[k]
    secs, rate, at = regular(n, minutes), seasonal_rate(rng), onsets(rng, n, m)
    bursts = [(o, o + max(1, round(rng.uniform(30, 120) / minutes)), rng.uniform(5, 10))
              for o in at]
    values, left, factor = [], 0, 1.0
    for i, s in enumerate(secs):
        if left == 0 and rng.random() < 0.004:
            left, factor = rng.randint(1, 4), rng.lognormvariate(0.8, 0.3)
        f = factor if left else 1.0
        left = max(0, left - 1)
        f *= math.prod(g for a, b, g in bursts if a <= i < b)
        values.append(float(poisson(rng, rate(s) * f)))
    return secs, values, at


def demand_pattern(rng: random.Random, k: int) -> Series:
    """Half-hourly demand, daily+weekly shape; anomalies: a holiday, a surge at 3 am."""
    n = (4000, 6000)[k]
    secs, base, wk = regular(n, 30), rng.uniform(500, 5000), rng.uniform(0.7, 0.85)

    def shape(s: float) -> float:
        h = s / 3600.0
        day = 0.55 + 0.3 * cycle(s, 18) + 0.15 * math.cos(4 * math.pi * (h - 9) / 24)
        return base * day * (wk if weekend(s) else 1.0)

    values = [shape(s) * (1 + rng.gauss(0, 0.05)) for s in secs]
    top = max(values)
    holiday = int(n * rng.uniform(0.3, 0.45)) // 48
    holiday += 7 - holiday % 7 if holiday % 7 >= 5 else 0  # a weekday
    for i in range(holiday * 48, holiday * 48 + 48):
        values[i] *= 0.6
    surge = int(n * rng.uniform(0.65, 0.85)) // 48 * 48 + 6  # 03:00
    level = top * rng.uniform(0.75, 0.9)  # inside the overall range: only the hour is odd
    for i in range(surge, surge + rng.randint(4, 8)):
        values[i] = min(level * (1 + rng.gauss(0, 0.05)), 0.97 * top)
    return secs, values, [holiday * 48, surge]


def temperature_failure(rng: random.Random, k: int) -> Series:
    """Machine temperature: slow wander plus daily cycle; anomaly: failure, or a ramp first."""
    n, minutes, ramp = ((5000, 5, False), (8000, 5, True), (3000, 30, False))[k]
    secs, level, amp = regular(n, minutes), rng.uniform(60, 90), rng.uniform(2, 5)
    values, w = [], 0.0
    for s in secs:
        w = 0.998 * w + rng.gauss(0, 0.2)
        values.append(level + w + amp * cycle(s, 15))
    (onset,) = onsets(rng, n, 1)
    sd = statistics.pstdev(values[:onset])
    fail = onset
    if ramp:  # over ~200 rows to 4-6 deviations, hold, then fail
        top = rng.uniform(4, 6) * sd
        for i in range(onset, onset + 250):
            values[i] += top * min(1.0, (i - onset) / 200)
        fail = onset + 250
    drop = rng.uniform(8, 12) * sd
    for i in range(fail, fail + rng.randint(80, 140)):  # repaired inside the window
        values[i] -= drop
    return secs, values, [onset]


def gradual_drift(rng: random.Random, k: int) -> Series:
    """Stationary noise; anomaly: a slow ramp (100-300 rows) to a new lasting level."""
    n, minutes, rows = ((3000, 1, 100), (7000, 5, 200), (10000, 30, 300))[k]
    level = rng.uniform(10, 1000)
    sd = level * rng.uniform(0.02, 0.05)
    shift = rng.choice((-1, 1)) * rng.uniform(3, 5) * sd
    (onset,) = onsets(rng, n, 1)
    values = [level + rng.gauss(0, sd) + shift * min(1.0, max(0.0, (i - onset) / rows))
              for i in range(n)]
    return regular(n, minutes), values, [onset]


def latency_lognormal(rng: random.Random, k: int) -> Series:
    """Request latency, lognormal with rare spikes; anomaly: hours of slower, spikier service."""
    n, minutes = ((6000, 1), (10000, 5), (4000, 5))[k]
    median = rng.uniform(40, 300)
    (onset,) = onsets(rng, n, 1)
    end = onset + int(rng.uniform(2, 6) * 60 / minutes)
    slow = rng.uniform(1.6, 2.2)
    values = []
    for i in range(n):
        bad = onset <= i < end
        x = median * (slow if bad else 1.0) * rng.lognormvariate(0, 0.25)
        if rng.random() < (0.03 if bad else 0.003):
            x *= rng.lognormvariate(1.2, 0.4)
        values.append(x)
    return regular(n, minutes), values, [onset]


def variance_change(rng: random.Random, k: int) -> Series:
    """Stationary noise whose spread triples (for good, or for a while): a new regime."""
    n, minutes = ((4000, 5), (8000, 1))[k]
    level, sd = rng.uniform(-50, 50), rng.uniform(0.5, 5)
    (onset,) = onsets(rng, n, 1)
    end = n if k == 0 else onset + int(0.08 * n)
    values = [level + rng.gauss(0, 3 * sd if onset <= i < end else sd) for i in range(n)]
    return regular(n, minutes), values, [onset]


def trend_no_anomaly(rng: random.Random, k: int) -> Series:
    """Steady growth with noise (a new maximum all the time) and nothing wrong."""
    n, minutes = ((5000, 5), (9000, 30))[k]
    level, sd = rng.uniform(100, 1000), rng.uniform(1, 10)
    if k == 0:  # linear, rising 30 deviations
        values = [level + 30 * sd * i / n + rng.gauss(0, sd) for i in range(n)]
    else:  # compound growth to about 3x, 1 % noise
        values = [level * math.exp(math.log(3) * i / n) * (1 + rng.gauss(0, 0.01))
                  for i in range(n)]
    return regular(n, minutes), values, []


def seasonal_no_anomaly(rng: random.Random, k: int) -> Series:
    """Daily/weekly seasonal counts, each day a little different, and nothing wrong."""
    n, minutes = ((6000, 5), (5000, 30))[k]
    secs, rate, values = regular(n, minutes), seasonal_rate(rng), []
    scale, day = 1.0, -1
    for s in secs:
        if int(s // 86400) != day:
            scale, day = rng.lognormvariate(0, 0.1), int(s // 86400)
        values.append(float(poisson(rng, rate(s) * scale)))
    return secs, values, []


def discrete_levels(rng: random.Random, k: int) -> Series:
    """An integer mode (replicas, state) stepping between a few levels; anomaly: a new one."""
    n, minutes = ((5000, 5), (8000, 1))[k]
    step = rng.choice((1, 5, 10))
    levels = [step * v for v in sorted(rng.sample(range(2, 10), 3))]
    new = levels[-1] + 2 * step if k == 0 else levels[0] - step
    (onset,) = onsets(rng, n, 1)
    end = onset + rng.randint(50, 150)
    values, x = [], float(levels[0])
    for i in range(n):
        if rng.random() < 0.02:
            x = float(rng.choice([v for v in levels if v != x]))
        values.append(float(new) if onset <= i < end else x)
    return regular(n, minutes), values, [onset]


def sparse_counts(rng: random.Random, k: int) -> Series:
    """Rare events (errors, signups): mostly zeros, a few small counts; anomaly: a dense run."""
    n, minutes = ((6000, 5), (10000, 5), (4000, 30))[k]
    p = rng.uniform(0.02, 0.06)
    (onset,) = onsets(rng, n, 1)
    end, lam = onset + rng.randint(20, 40), rng.uniform(2, 4)
    values = [
        float(poisson(rng, lam)) if onset <= i < end
        else (1.0 + min(3, int(rng.expovariate(1.0))) if rng.random() < p else 0.0)
        for i in range(n)
    ]
    return regular(n, minutes), values, [onset]


def irregular_sampling(rng: random.Random, k: int) -> Series:
    """Noisy level sampled at exponential gaps; anomalies: an 8-10 sd spike, a level shift."""
    n = (4000, 7000)[k]
    secs, level, sd = irregular(rng, n, 5), rng.uniform(20, 200), rng.uniform(1, 5)
    spike, shift = onsets(rng, n, 2)[:: 1 if k == 0 else -1]
    jump = rng.choice((-1, 1)) * rng.uniform(3, 5) * sd
    values = [level + rng.gauss(0, sd) + (jump if i >= shift else 0.0) for i in range(n)]
    values[spike] += rng.choice((-1, 1)) * rng.uniform(8, 10) * sd
    return secs, values, sorted((spike, shift))


MAKERS = (
    (server_cpu, 3), (outage_flatline, 2), (seasonal_counts, 3), (demand_pattern, 2),
    (temperature_failure, 3), (gradual_drift, 3), (latency_lognormal, 3), (variance_change, 2),
    (trend_no_anomaly, 2), (seasonal_no_anomaly, 2), (discrete_levels, 2), (sparse_counts, 3),
    (irregular_sampling, 2),
)
#: family name -> (generator of series k, number of series)
FAMILIES: dict[str, tuple[Callable[[random.Random, int], Series], int]] = {
    make.__name__: (make, seeds) for make, seeds in MAKERS
}
NO_ANOMALY = ("trend_no_anomaly", "seasonal_no_anomaly")


def windows(stamps: list[str], at: list[int]) -> list[list[str]]:
    """NAB's windows: floor(10 % of rows / anomalies) wide, centred on each onset."""
    n = len(stamps)
    if not at:
        return []
    width = math.floor(0.10 * n / len(at))
    out, last = [], math.floor(0.15 * n) - 1
    for onset in at:
        first = onset - width // 2
        if first <= last or first + width > n:
            raise ValueError(f"window at row {onset} overlaps probation, a window or the end")
        last = first + width - 1
        out.append([stamps[first] + ".000000", stamps[last] + ".000000"])
    return out


def write_corpus(
    out_dir: Path, series: dict[str, tuple[list[str], list[float], list[int]]]
) -> Path:
    """Write ``data/<name>`` (timestamps, values) for every series and ``windows.json`` with
    NAB windows around its onsets; return the latter."""
    labels: dict[str, list[list[str]]] = {}
    for name, (stamps, values, at) in series.items():
        path = out_dir / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["timestamp,value"] + [
            f"{t},{v:.6g}" for t, v in zip(stamps, values, strict=True)
        ]
        path.write_text("\n".join(lines) + "\n")
        labels[name] = windows(stamps, at)
    path = out_dir / "windows.json"
    path.write_text(json.dumps(labels, indent=2, sort_keys=True) + "\n")
    return path


def generate(out_dir: Path) -> Path:
    """Write ``data/<family>/<family>_<k>.csv`` and ``windows.json``; return the latter."""
    series = {}
    for family, (make, seeds) in FAMILIES.items():
        for k in range(seeds):
            secs, values, at = make(random.Random(f"{family}-{k}"), k)
            start = START + timedelta(weeks=5 * k)
            stamps = [(start + timedelta(seconds=s)).strftime("%Y-%m-%d %H:%M:%S")
                      for s in secs]
            series[f"{family}/{family}_{k}.csv"] = (stamps, values, at)
    return write_corpus(out_dir, series)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 -m tests.unit.streams.spikes.synthetic_corpus OUT_DIR")
    print(generate(Path(sys.argv[1])))
