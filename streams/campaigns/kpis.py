"""Campaign KPI formulas, in exact decimal money.

Money is rounded to the cent (half up) once, where it is reported: EMV per grain from
its counts, cost from the fees. Ratios of money are then taken from those cents, so the
warehouse (integer cents, integer division) and Python agree to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
BASIS_POINT = Decimal("0.0001")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def emv(counts: Mapping[str, int], rates: Mapping[str, Decimal]) -> Decimal:
    """Earned media value: Σ count × rate over the EMV kinds, to the cent."""
    return money(sum((Decimal(n) * rates[kind] for kind, n in counts.items() if kind in rates),
                     Decimal(0)))


def hour_cost(fee: Decimal, starts_at_ms: int, ends_at_ms: int, hour_start_ms: int) -> Decimal:
    """The fee pro-rated to the part of this hour the campaign covers, to the cent."""
    overlap = min(ends_at_ms, hour_start_ms + 3_600_000) - max(starts_at_ms, hour_start_ms)
    if overlap <= 0:
        return Decimal("0.00")
    return money(fee * overlap / (ends_at_ms - starts_at_ms))


def cost_per_engagement(cost: Decimal, interactions: int) -> Decimal | None:
    return money(cost / interactions) if interactions else None


def cpm_by_reach(cost: Decimal, reach: int) -> Decimal | None:
    """Cost per thousand people reached (distinct viewers)."""
    return money(cost * 1000 / reach) if reach else None


def roi(emv_value: Decimal, cost: Decimal) -> Decimal | None:
    """EMV ÷ cost, to four decimal places (1.2500 means 1.25 of value per unit spent)."""
    return (emv_value / cost).quantize(BASIS_POINT, ROUND_HALF_UP) if cost else None


def cents(value: Decimal) -> int:
    return int(money(value) * 100)
