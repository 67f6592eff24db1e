"""Building blocks of the anomaly detector, each a few numbers of state.

Every block keeps its state in ``__slots__`` holding floats or fixed-length lists of
floats, so ``state()`` / ``load()`` can flatten and restore it generically.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

_SQRT2 = math.sqrt(2.0)
#: a floor under the usual average (HTM's likelihood has one too): where nearly every
#: value is predicted, the slightest blip must not look like a catastrophe
_MIN_MEAN = 0.05
#: an unpredictable series: surprises of independent noise average 1
_NOISY_MEAN = 0.5
#: averages needed before their distribution is trusted
MIN_HISTORY = 50


def weight(rate: float, steps: float) -> float:
    """EWMA weight of a new value that arrives ``steps`` typical intervals later."""
    return 1.0 - math.pow(1.0 - rate, steps)


def surprise(deviation: float, scale: float, cap: float = 50.0) -> float:
    """-ln of the two-sided normal p-value of ``deviation``: about 1 on average for an
    ordinary value (exponentially distributed), large for one many scales out."""
    z = min(abs(deviation) / scale, 37.0)
    return min(-math.log(max(math.erfc(z / _SQRT2), 1e-300)), cap)


class Block:
    """Flat, fixed-length serialisation of the numbers in ``__slots__``."""

    __slots__: tuple[str, ...] = ()

    def state(self) -> Iterator[float]:
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, list):
                yield from value
            else:
                yield float(value)

    def load(self, values: list[float], at: int) -> int:
        """Take this block's numbers from ``values[at:]``; returns where the next begins."""
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, list):
                end = at + len(value)
                value[:] = values[at:end]
                at = end
            else:
                setattr(self, name, values[at])
                at += 1
        return at


class Moments(Block):
    """Decaying mean and variance; the first values are averaged equally."""

    __slots__ = ("mean", "n", "var")

    def __init__(self) -> None:
        self.mean = 0.0
        self.var = 0.0
        self.n = 0.0

    def add(self, x: float, rate: float, steps: float = 1.0) -> None:
        self.n += 1.0
        w = max(weight(rate, steps), 1.0 / self.n)
        dev = x - self.mean
        self.mean += w * dev
        self.var = (1.0 - w) * (self.var + w * dev * dev)

    @property
    def std(self) -> float:
        return math.sqrt(self.var)


class Likelihood(Block):
    """How unusual the *averaged* surprise is against its own long-run distribution.

    Numenta's anomaly likelihood: raw surprises are averaged over a short window, and
    the average is compared with the mean and spread of past averages (decaying
    moments instead of HTM's stored window). Returns -log10 of the tail probability.
    """

    __slots__ = ("average", "history")

    def __init__(self) -> None:
        self.average = 0.0
        self.history = Moments()

    def state(self) -> Iterator[float]:
        yield self.average
        yield from self.history.state()

    def load(self, values: list[float], at: int) -> int:
        self.average = values[at]
        return self.history.load(values, at + 1)

    def update(
        self, raw: float, steps: float, average_rate: float, history_rate: float,
        lower: bool = False, clip: float = math.inf, min_history: float = MIN_HISTORY,
    ) -> float:
        """-log10 of the upper tail probability (or of either tail, if ``lower``)."""
        a = self.average = self.average + weight(average_rate, steps) * (raw - self.average)
        h = self.history
        mean = max(h.mean, _MIN_MEAN)
        # a gamma distribution with the history's moments (sums of exponential surprises
        # are gamma), no narrower than an average of independent surprises
        shape = min(mean * mean / max(h.var, 1e-12), (2.0 - average_rate) / average_rate)
        # Wilson-Hilferty: the cube root of a gamma variable is nearly normal
        c = 1.0 / (9.0 * shape)
        z = ((a / mean) ** (1.0 / 3.0) - (1.0 - c)) / math.sqrt(c)
        # learn an outlying average as a bounded one, so one incident does not widen
        # the distribution that judges the next
        bound = mean * max(1.0 - c + clip * math.sqrt(c), 0.0) ** 3 if z > clip else a
        h.add(min(a, bound), history_rate, steps)
        # too little surprise counts only where surprise is normal: a series that is
        # always predictable (flat, clean cycles) is not anomalous for staying so
        quiet = lower and h.mean >= _NOISY_MEAN
        if h.n <= min_history or not (quiet or a > mean):
            return 0.0
        z = abs(z)
        tail = max(0.5 * math.erfc(z / _SQRT2), 1e-300)
        return -math.log10(tail)


class Profile(Block):
    """Mean and spread of the value per slot of a cycle (hour of day, hour of week).

    A slot's spread is shrunk towards the spread pooled over all slots, with the weight
    of ``prior`` visits: a slot seen three times has not yet shown its real spread.
    """

    __slots__ = ("mean", "pooled", "seen", "var")

    def __init__(self, slots: int) -> None:
        self.mean = [0.0] * slots
        self.var = [0.0] * slots
        self.seen = [0.0] * slots
        self.pooled = 0.0

    def deviation(
        self, slot: int, x: float, min_seen: float, prior: float
    ) -> tuple[float, float] | None:
        """(deviation, std) against the slot's history, if it has enough of it."""
        seen = self.seen[slot]
        if seen < min_seen:
            return None
        var = (seen * self.var[slot] + prior * self.pooled) / (seen + prior)
        return x - self.mean[slot], math.sqrt(var)

    def add(self, slot: int, x: float, rate: float, clip: float = math.inf) -> None:
        """``clip``: a deviation beyond this many spreads is learned as if it were that
        far out, so one burst does not blind the slot (and every slot) to the next."""
        self.seen[slot] += 1.0
        w = max(rate, 1.0 / self.seen[slot])
        dev = x - self.mean[slot]
        if self.seen[slot] > 1.0:
            if math.isfinite(clip) and self.pooled > 0.0:
                bound = clip * math.sqrt(max(self.var[slot], self.pooled))
                dev = min(max(dev, -bound), bound)
            self.pooled += rate * (dev * dev - self.pooled)
        self.mean[slot] += w * dev
        self.var[slot] = (1.0 - w) * (self.var[slot] + w * dev * dev)
