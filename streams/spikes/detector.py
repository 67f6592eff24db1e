"""A one-pass anomaly score for irregularly sampled series, in constant state.

Why this shape: a follower count arrives every few seconds to every few hours, so every
decay below is per unit of *elapsed time*, counted in the series' own typical interval,
not per sample. Three surprises are tracked for each value: against the recent level,
against the recent size of changes, and against the same hour of the day (follows, like
traffic, have a daily rhythm). Each surprise becomes a tail probability against that
series' own history of surprises (Numenta's "anomaly likelihood"), so one threshold
means the same on a quiet creator and a noisy one. Values well outside everything seen so
far score 1. Outliers are learned clipped, so one spike does not blind the detector to
the next. After a score reaches ``alert_level`` the incident is open, and later scores
are halved for ``hold_intervals``: the evidence repeats, it is not a new anomaly.
"""

from __future__ import annotations

import math

_SQRT2 = math.sqrt(2.0)
_HOUR_MS = 3_600_000
#: the score is -log10(tail probability) / this, so 0.5 means one in a thousand
_LOG10_SCALE = 6.0


def _weight(rate: float, steps: float) -> float:
    """EWMA weight of a new value that arrives ``steps`` typical intervals later."""
    return 1.0 - math.pow(1.0 - rate, steps)


def _surprise(deviation: float, variance: float) -> float:
    """0 for an ordinary deviation, towards 1 for one many deviations out."""
    return math.erf(abs(deviation) / math.sqrt(variance) / (2.0 * _SQRT2))


def _clip(value: float, bound: float) -> float:
    return max(-bound, min(bound, value))


class SurpriseLikelihood:
    """How unusual the recent surprises are, against this series' long-run surprises."""

    __slots__ = ("mean", "seen", "short", "var")

    SHORT_RATE = 0.2
    LONG_RATE = 0.001

    def __init__(self) -> None:
        self.mean = 0.0
        self.var = 0.0
        self.short = 0.0
        self.seen = 0

    def update(self, surprise: float, steps: float) -> float:
        """Returns the score in [0, 1] and learns ``surprise``."""
        self.short += _weight(self.SHORT_RATE, steps) * (surprise - self.short)
        z = (self.short - self.mean) / (math.sqrt(self.var) + 1e-6)
        tail = max(0.5 * math.erfc(z / _SQRT2), 1e-300)
        self.seen += 1
        w = max(_weight(self.LONG_RATE, steps), 1.0 / self.seen)
        dev = surprise - self.mean
        self.mean += w * dev
        self.var = (1.0 - w) * (self.var + w * dev * dev)
        return min(1.0, -math.log10(tail) / _LOG10_SCALE)


class AnomalyDetector:
    """Scores each observation in [0, 1] from the past alone, in O(1) time and state."""

    __slots__ = (
        "alert_level", "change_var", "hold_intervals", "hold_until", "hour_mean",
        "hour_seen", "hour_var", "hi", "last_t", "last_x", "level", "level_var",
        "likelihoods", "lo", "n", "elapsed", "typical_dt", "warmup",
    )

    LEVEL_RATE = 0.01
    CHANGE_RATE = 0.02
    HOUR_RATE = 0.03
    DT_RATE = 0.05
    #: a new extreme counts as certain only this far out; noise sets new extremes too
    OUTSIDE_SIGMAS = 4.0
    #: an outlier is learned as if it were this many deviations out
    LEARN_CLIP_SIGMAS = 5.0

    def __init__(
        self, alert_level: float = 0.5, hold_intervals: float = 100.0, warmup: int = 20
    ) -> None:
        self.alert_level = alert_level
        self.hold_intervals = hold_intervals
        self.warmup = warmup
        self.n = 0
        self.last_t = 0
        self.last_x = 0.0
        self.typical_dt = 0.0
        self.elapsed = 0.0
        self.hold_until = -1.0
        self.level = 0.0
        self.level_var = 0.0
        self.change_var = 0.0
        self.lo = math.inf
        self.hi = -math.inf
        self.hour_mean = [0.0] * 24
        self.hour_var = [0.0] * 24
        self.hour_seen = [0] * 24
        self.likelihoods = (SurpriseLikelihood(), SurpriseLikelihood(), SurpriseLikelihood())

    def update(self, t_ms: int, x: float) -> float:
        """Learn the observation ``x`` made at ``t_ms`` and score it."""
        self.n += 1
        if self.n == 1:
            self.last_t, self.last_x, self.level = t_ms, x, x
            self.lo = self.hi = x
            return 0.0
        dt = max(t_ms - self.last_t, 0)
        if self.typical_dt <= 0.0:
            self.typical_dt = float(dt) or 1.0
        steps = min(max(dt / self.typical_dt, 0.05), 100.0)
        self.typical_dt += self.DT_RATE * (dt - self.typical_dt)
        self.elapsed += steps

        eps = 1e-9 + 1e-6 * abs(self.level)
        dev = x - self.level
        change = (x - self.last_x) / math.sqrt(steps)
        hour = (t_ms // _HOUR_MS) % 24
        surprises = [
            _surprise(dev, self.level_var + eps),
            _surprise(change, self.change_var + eps),
            0.0,
        ]
        if self.hour_seen[hour] >= 3:
            hour_dev = x - self.hour_mean[hour]
            surprises[2] = _surprise(hour_dev, self.hour_var[hour] + 0.01 * self.level_var + eps)
        span = self.hi - self.lo
        outside = (
            span > 0
            and (x > self.hi + 0.05 * span or x < self.lo - 0.05 * span)
            and abs(dev) > self.OUTSIDE_SIGMAS * math.sqrt(self.level_var)
        )

        self._learn(x, dev, change, hour, steps)
        self.last_t, self.last_x = t_ms, x
        scores = [lk.update(s, steps) for lk, s in zip(self.likelihoods, surprises, strict=True)]
        if self.n <= self.warmup:
            return 0.0
        score = 1.0 if outside else max(scores)
        if self.elapsed < self.hold_until:
            return 0.5 * score
        if score >= self.alert_level:
            self.hold_until = self.elapsed + self.hold_intervals
        return score

    def _learn(self, x: float, dev: float, change: float, hour: int, steps: float) -> None:
        if self.n > self.warmup:
            # learn an outlier as a bounded one: one spike must not blind the detector
            # to the next, yet a lasting shift still moves every estimate in a few steps
            k = self.LEARN_CLIP_SIGMAS
            dev = _clip(dev, k * math.sqrt(self.level_var))
            change = _clip(change, k * math.sqrt(self.change_var))
            x = self.level + dev
        w = max(_weight(self.LEVEL_RATE, steps), 1.0 / self.n)
        self.level += w * dev
        self.level_var = (1.0 - w) * (self.level_var + w * dev * dev)
        w = max(_weight(self.CHANGE_RATE, steps), 1.0 / self.n)
        self.change_var += w * (change * change - self.change_var)
        self.lo, self.hi = min(self.lo, x), max(self.hi, x)
        self.hour_seen[hour] += 1
        w = max(self.HOUR_RATE, 1.0 / self.hour_seen[hour])
        hour_dev = x - self.hour_mean[hour]
        self.hour_mean[hour] += w * hour_dev
        self.hour_var[hour] = (1.0 - w) * (self.hour_var[hour] + w * hour_dev * hour_dev)

    # -- durable state (minimal; the detector rewrite brings its own version) ----------

    _SCALARS = ("n", "last_t", "last_x", "typical_dt", "elapsed", "hold_until", "level",
                "level_var", "change_var", "lo", "hi", "warmup")

    def state(self) -> list[float]:
        """Everything learned, as a fixed-length flat list of numbers (for checkpoints)."""
        values = [float(getattr(self, name)) for name in self._SCALARS]
        values += self.hour_mean + self.hour_var + [float(n) for n in self.hour_seen]
        for lk in self.likelihoods:
            values += [lk.mean, lk.var, lk.short, float(lk.seen)]
        return values

    @classmethod
    def from_state(
        cls, values: list[float], alert_level: float = 0.5, hold_intervals: float = 100.0
    ) -> AnomalyDetector:
        """The detector that :meth:`state` described; refuses a list of the wrong shape."""
        if len(values) != len(cls._SCALARS) + 3 * 24 + 4 * 3:
            raise ValueError(f"detector state of {len(values)} values")
        detector = cls(alert_level=alert_level, hold_intervals=hold_intervals)
        it = iter(values)
        for name in cls._SCALARS:
            value = next(it)
            setattr(detector, name, int(value) if name in ("n", "last_t", "warmup") else value)
        detector.hour_mean = [next(it) for _ in range(24)]
        detector.hour_var = [next(it) for _ in range(24)]
        detector.hour_seen = [int(next(it)) for _ in range(24)]
        for lk in detector.likelihoods:
            lk.mean, lk.var, lk.short, lk.seen = next(it), next(it), next(it), int(next(it))
        return detector
