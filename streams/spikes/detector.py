"""A one-pass anomaly score for irregularly sampled series, in constant state.

Why this shape: a follower count arrives every few seconds to every few hours, so every
decay below is per unit of *elapsed time*, counted in the series' own typical interval.
Each value (its signed square root: counts' spread grows with their level, the root evens
it) is compared with contexts at several time scales: the previous value (spikes),
the recent level (shifts), a slow level (drifts), and the same hour of the day and of the
week relative to the level (seasonality, once two cycles were seen). Each comparison is a
surprise; its averages over a short and a long span are judged against the long-run
distribution of those averages (Numenta's anomaly likelihood, on the *averaged* score),
so a context that explains a series badly is calibrated away instead of crying wolf, and
many small surprises count as much as one big one. A value beyond the raw range seen so
far, and beyond the range of values less the slow level, scores 1 (NAB's HTM detector's
spatial anomaly, without a trend's new highs). After evidence of half the alert level,
evidence that is not stronger is damped for ``hold_intervals``: a repeat, or a new extreme
the incident reaches before it comes back, is the same incident; a bigger anomaly is news.
Everything is learned robustly (outlying steps and seasonal deviations clipped), so one
incident does not blind the detector to the next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from campaignpulse.streams.spikes.channels import (
    MIN_HISTORY,
    Block,
    Likelihood,
    Moments,
    Profile,
    surprise,
)

_HOUR_MS = 3_600_000
_CHANNELS = 5
#: what ``AnomalyDetector.evidence`` holds, in order: each context's surprise averaged
#: over the short and over the long span
EVIDENCE = tuple(
    f"{context} ({span})" for span in ("short", "long")
    for context in ("step", "level", "slow level", "hour of day", "hour of week")
)
#: stands for "stronger than any likelihood" and stays finite, so state is JSON-able
_MAX_STRENGTH = 1e300
#: the first number of ``state()``; raised whenever the same numbers change meaning
_LAYOUT = 2.0
#: numbers kept outside the blocks, in ``state()`` order
_SCALARS = (
    "layout", "n", "first_t", "last_t", "last_x", "typical_dt", "elapsed", "hold_until", "held",
    "lo", "hi", "incident_lo", "incident_hi", "incident_reach", "drift_lo", "drift_hi",
)


@dataclass(frozen=True)
class DetectorParams:
    """Rates are per typical interval. The first two and ``range_tolerance`` were chosen
    by leave-one-category-out cross-validation on NAB (``crossval.py``); the rest are
    fixed by design."""

    #: evidence is averaged over about 20 and about 100 intervals
    average_rate: float = 0.05
    long_average_rate: float = 0.01
    #: the distribution of those averages spans about 1000 intervals
    history_rate: float = 0.001
    #: averages beyond this many deviations are learned as if they were this far out
    history_clip: float = 4.0
    #: score = -log10(tail probability) / log_scale: 0.5 is one in a million
    log_scale: float = 12.0
    #: a surprise is -ln(p) of one deviation, capped: one outlier moves an average a bit
    max_surprise: float = 10.0
    level_rate: float = 0.01
    change_rate: float = 0.02
    slow_rate: float = 0.001
    season_rate: float = 0.05
    season_min_seen: float = 3.0
    #: a slot's spread counts as this many visits' worth of the spread of all slots
    season_prior: float = 10.0
    #: a seasonal channel is judged once its averages were seen over half a cycle
    season_history: float = 0.5
    #: a slot learns a deviation beyond this many spreads as if it were that far out, so
    #: one burst does not blind the slot (and the pooled spread) to the next
    season_clip: float = 3.0
    #: judge the square root of the value (signed), not the value: a count's spread grows
    #: with its level (Poisson: variance = mean), so on raw values a burst at the quiet
    #: hour hides in the busy hours' spread; after the root the spread is even. Nearly
    #: linear for values far from zero. The range rule below keeps raw values
    stabilise: bool = True
    #: a new extreme must pass the raw range by this share of it
    range_tolerance: float = 0.05
    #: a new extreme must also be one against the slow level: a trend's new highs are not
    range_detrend: bool = True
    #: the range learns raw values (recurring bursts are not new), or values clipped at
    #: this many deviations from the level (every outlier is new)
    range_clip: float = math.inf
    #: level and step deviations are learned clipped at this many deviations
    learn_clip: float = math.inf
    step_clip: float = 5.0
    #: too little surprise counts too, where surprise is normal (a noisy series going flat)
    quiet: bool = True
    hold_damping: float = 0.2
    #: evidence from this share of the alert level on opens (and extends) the hold: an
    #: incident's evidence just under the alert level repeats too, and a run of it is
    #: one event at any threshold
    hold_share: float = 0.5
    #: evidence that stays at the alert level keeps the hold open: the incident goes on
    hold_extend: bool = True
    dt_rate: float = 0.05


class AnomalyDetector:
    """Scores each observation in [0, 1] from the past alone, in O(1) time and state."""

    __slots__ = (
        "alert_level", "change", "day", "drift_hi", "drift_lo", "elapsed", "evidence", "first_t",
        "held", "hi", "hold_intervals", "hold_until", "incident_hi", "incident_lo",
        "incident_reach", "last_t", "last_x", "layout", "level", "likelihoods", "lo", "n",
        "params", "slow", "typical_dt", "warmup", "week",
    )

    def __init__(
        self, alert_level: float = 0.5, hold_intervals: float = 100.0, warmup: int = 20,
        params: DetectorParams | None = None,
    ) -> None:
        self.alert_level = alert_level
        self.hold_intervals = hold_intervals
        self.warmup = warmup
        self.params = params or DetectorParams()
        #: what the state means: a checkpoint of another layout is refused, not misread
        self.layout = _LAYOUT
        self.n = 0.0
        self.last_t = 0.0
        self.first_t = 0.0
        self.last_x = 0.0
        self.typical_dt = 0.0
        self.elapsed = 0.0
        self.hold_until = -1.0
        self.held = 0.0
        self.lo = 0.0
        self.hi = 0.0
        #: the range of values less the slow level: a trend's new highs stay inside it
        self.drift_lo = 0.0
        self.drift_hi = 0.0
        #: the range before the open incident's first new extreme, and how far beyond it
        #: that extreme went
        self.incident_lo = 0.0
        self.incident_hi = -1.0
        self.incident_reach = 0.0
        self.level = Moments()
        self.change = Moments()
        self.slow = Moments()
        self.day = Profile(24)
        self.week = Profile(168)
        self.likelihoods = [Likelihood() for _ in range(2 * _CHANNELS)]
        #: the last update's -log10 tail per channel (``EVIDENCE``), for diagnostics; not state
        self.evidence = [0.0] * len(EVIDENCE)

    def update(self, t_ms: int, x: float) -> float:
        """Learn the observation ``x`` made at ``t_ms`` and score it."""
        p = self.params
        self.n += 1
        y = self._judged(x)
        if self.n == 1:
            self.last_t, self.last_x, self.lo, self.hi = float(t_ms), x, x, x
            self.first_t = float(t_ms)
            self.level.add(y, p.level_rate)
            return 0.0
        dt = max(t_ms - self.last_t, 0.0)
        if self.typical_dt <= 0.0:
            self.typical_dt = dt or 1.0
        steps = min(max(dt / self.typical_dt, 0.05), 100.0)
        self.typical_dt += p.dt_rate * (dt - self.typical_dt)
        self.elapsed += steps

        eps = 1e-9 + 1e-6 * abs(self.level.mean)
        hour = int(t_ms // _HOUR_MS)
        step = (y - self._judged(self.last_x)) / math.sqrt(steps)
        cap = p.max_surprise
        raws: list[float | None] = [
            surprise(step, math.sqrt(self.change.mean) + eps, cap),
            surprise(y - self.level.mean, self.level.std + eps, cap),
            surprise(y - self.slow.mean, self.slow.std + eps, cap),
            self._seasonal(self.day, hour % 24, y - self.level.mean, eps, t_ms, 24),
            self._seasonal(self.week, hour % 168, y - self.level.mean, eps, t_ms, 168),
        ]
        span = self.hi - self.lo
        # beyond everything seen by a share of the raw range (HTM's spatial anomaly); the
        # range learns raw values, so a burst that recurs is not new the second time
        tol = p.range_tolerance * span
        outside = span > 0 and (x > self.hi + tol or x < self.lo - tol)
        drift = x - self._raw(self.slow.mean)
        if outside and p.range_detrend and self.n > self.warmup:
            tol = p.range_tolerance * (self.drift_hi - self.drift_lo)
            outside = drift > self.drift_hi + tol or drift < self.drift_lo - tol
        # a new extreme while the series has not come back into the range it left, and
        # not twice as far beyond it as the incident's first, is the same incident going
        # on (a failing machine setting new lows), not news
        beyond = max(self.incident_lo - x, x - self.incident_hi)
        going_on = (
            outside and not self.incident_lo <= self.last_x <= self.incident_hi
            and beyond <= 2.0 * self.incident_reach
        )
        before = (self.lo, self.hi)

        self._learn(x, y, step, hour, steps)
        self.last_t, self.last_x = float(t_ms), x
        if self.n <= self.warmup // 2:
            self.drift_lo = self.drift_hi = drift
        self.drift_lo, self.drift_hi = min(self.drift_lo, drift), max(self.drift_hi, drift)
        rates = (p.average_rate, p.long_average_rate)
        day_rows = p.season_history * 24 * _HOUR_MS / max(self.typical_dt, 1.0)
        min_history = (
            MIN_HISTORY, MIN_HISTORY, MIN_HISTORY, max(MIN_HISTORY, day_rows),
            max(MIN_HISTORY, 7 * day_rows),
        )
        self.evidence[:] = [  # in place: the detector's size stays constant
            lk.update(
                raw, steps, rates[k // _CHANNELS], p.history_rate, p.quiet and k == _CHANNELS,
                p.history_clip, min_history[k % _CHANNELS],
            ) if raw is not None and rates[k // _CHANNELS] > 0 else 0.0
            for k, (lk, raw) in enumerate(zip(self.likelihoods, raws + raws, strict=True))
        ]
        strength = max(self.evidence)
        if self.n <= self.warmup:
            return 0.0
        score = 1.0 if outside else min(1.0, strength / p.log_scale)
        if outside:
            strength = _MAX_STRENGTH
        held = self.elapsed < self.hold_until and strength <= self.held
        arm = p.hold_share * self.alert_level
        if held and (going_on or not outside):
            if p.hold_extend and score >= arm:  # the incident goes on
                self.hold_until = self.elapsed + self.hold_intervals
            return p.hold_damping * score  # the open incident, repeated
        if score >= arm:
            self.hold_until = self.elapsed + self.hold_intervals
            self.held = strength  # _MAX_STRENGTH for a new extreme
            if outside:
                self.incident_lo, self.incident_hi = before
                self.incident_reach = max(before[0] - x, x - before[1])
        return score

    def _blocks(self) -> list[Block]:
        return [self.level, self.change, self.slow, self.day, self.week, *self.likelihoods]

    def state(self) -> list[float]:
        """Everything learned, as a fixed-length list of floats (``STATE_LENGTH``)."""
        out = [float(getattr(self, name)) for name in _SCALARS]
        for block in self._blocks():
            out.extend(block.state())
        return out

    @classmethod
    def from_state(
        cls, values: Sequence[float], alert_level: float = 0.5,
        hold_intervals: float = 100.0, warmup: int = 20, params: DetectorParams | None = None,
    ) -> AnomalyDetector:
        """A detector that continues exactly where the one that gave ``state()`` stopped."""
        if len(values) != STATE_LENGTH or values[0] != _LAYOUT:
            raise ValueError(
                f"detector state has {STATE_LENGTH} numbers in layout {_LAYOUT:g}, got "
                f"{len(values)}" + (f" in layout {values[0]:g}" if values else "")
            )
        detector = cls(alert_level, hold_intervals, warmup, params)
        numbers = [float(v) for v in values]
        for at, name in enumerate(_SCALARS):
            setattr(detector, name, numbers[at])
        at = len(_SCALARS)
        for block in detector._blocks():
            at = block.load(numbers, at)
        return detector

    def _seasonal(
        self, profile: Profile, slot: int, x: float, eps: float, t_ms: int, hours: int
    ) -> float | None:
        """Surprise against the same hour of a cycle, once two whole cycles were seen."""
        p = self.params
        if t_ms - self.first_t < 2 * hours * _HOUR_MS:
            return None
        found = profile.deviation(slot, x, p.season_min_seen, p.season_prior)
        if found is None:
            return None
        return surprise(found[0], found[1] + eps, p.max_surprise)

    def _judged(self, x: float) -> float:
        """The value as the channels see it (see ``DetectorParams.stabilise``)."""
        return math.copysign(math.sqrt(abs(x)), x) if self.params.stabilise else x

    def _raw(self, y: float) -> float:
        return math.copysign(y * y, y) if self.params.stabilise else y

    def _learn(self, x: float, y: float, step: float, hour: int, steps: float) -> None:
        p = self.params
        base = self.level.mean
        learned = y
        if self.n > self.warmup:
            # learn an outlier as a bounded one: one spike must not blind the detector to
            # the next, yet a lasting shift still moves every estimate within a few steps
            bound = p.learn_clip * self.level.std
            learned = min(max(y, base - bound), base + bound)
            bound = p.step_clip * math.sqrt(self.change.mean)
            step = min(max(step, -bound), bound)
        self.level.add(learned, p.level_rate, steps)
        self.change.add(step * step, p.change_rate, steps)
        self.slow.add(learned, p.slow_rate, steps)
        self.day.add(hour % 24, y - base, p.season_rate, p.season_clip)
        self.week.add(hour % 168, y - base, p.season_rate, p.season_clip)
        if math.isfinite(p.range_clip) and self.n > self.warmup:  # every outlier is news
            bound = p.range_clip * self.level.std
            x = self._raw(min(max(y, self.level.mean - bound), self.level.mean + bound))
        self.lo, self.hi = min(self.lo, x), max(self.hi, x)


#: floats in ``AnomalyDetector.state()``: 643, i.e. 5,144 bytes as 8-byte floats
STATE_LENGTH = len(AnomalyDetector().state())
