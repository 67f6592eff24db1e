"""Raw and authentic engagement figures per media, creator and campaign, from the rows.

The same formulas as the campaign KPIs (``streams/campaigns/kpis.py``: EMV to the cent,
cost per engagement to the cent), applied once to every interaction and once to the
authentic ones. Shares are of raw engagements (likes, comments, saves, shares).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from campaignpulse.streams.authenticity.outputs import EXCLUSIONS, AuthenticityRow, Counts
from campaignpulse.streams.campaigns.definition import EMV_KINDS, Campaign
from campaignpulse.streams.campaigns.kpis import cost_per_engagement, emv, money
from campaignpulse.streams.engagement import rate


@dataclass(frozen=True, slots=True)
class Totals(Counts):
    """Counts summed over rows."""

    raw: tuple[int, ...]
    authentic: tuple[int, ...]
    excluded: tuple[int, ...]


def totals(rows: Iterable[AuthenticityRow]) -> Totals:
    raw = [0] * len(EMV_KINDS)
    authentic = [0] * len(EMV_KINDS)
    excluded = [0] * len(EXCLUSIONS)
    for row in rows:
        for i in range(len(EMV_KINDS)):
            raw[i] += row.raw[i]
            authentic[i] += row.authentic[i]
        for i in range(len(EXCLUSIONS)):
            excluded[i] += row.excluded[i]
    return Totals(tuple(raw), tuple(authentic), tuple(excluded))


def by(rows: Iterable[AuthenticityRow], *fields: str) -> dict[tuple[str, ...], Totals]:
    """Totals per value of the named row fields (``"creator_id"``, ``"media_id"``...)."""
    groups: dict[tuple[str, ...], list[AuthenticityRow]] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, f) for f in fields), []).append(row)
    return {key: totals(group) for key, group in groups.items()}


@dataclass(frozen=True, slots=True)
class Kpis:
    """Raw beside authentic, for one creator of a campaign or a whole campaign."""

    interactions: int
    authentic_interactions: int
    engagement_rate: float | None
    authentic_engagement_rate: float | None
    emv: Decimal
    authentic_emv: Decimal
    cost: Decimal
    cpe: Decimal | None
    authentic_cpe: Decimal | None
    pod_share: float | None
    bot_share: float | None


def kpis(t: Totals, rates: Mapping[str, Decimal], cost: Decimal,
         followers: int | None) -> Kpis:
    return Kpis(
        interactions=t.interactions, authentic_interactions=t.authentic_interactions,
        engagement_rate=rate(t.interactions, followers),
        authentic_engagement_rate=rate(t.authentic_interactions, followers),
        emv=emv(dict(zip(EMV_KINDS, t.raw, strict=True)), rates),
        authentic_emv=emv(dict(zip(EMV_KINDS, t.authentic, strict=True)), rates),
        cost=cost, cpe=cost_per_engagement(cost, t.interactions),
        authentic_cpe=cost_per_engagement(cost, t.authentic_interactions),
        pod_share=t.pod_share, bot_share=t.bot_share,
    )


def campaign_kpis(campaign: Campaign, rows: Iterable[AuthenticityRow],
                  followers: Mapping[str, int]) -> dict[str, Kpis]:
    """To date, per creator of the campaign and for the campaign (key ``""``).

    Cost is the whole fee, as in the to-date campaign KPIs; a campaign's EMV is the sum of
    its creators', its followers the sum over the creators that have a count.
    """
    mine = [r for r in rows if r.campaign_id == campaign.campaign_id]
    per_creator = by(mine, "creator_id")
    fees = campaign.fees()
    rates = campaign.rates()
    out: dict[str, Kpis] = {}
    for (creator_id,), t in sorted(per_creator.items()):
        out[creator_id] = kpis(t, rates, money(fees.get(creator_id, Decimal(0))),
                               followers.get(creator_id))
    whole = totals(mine)
    known = [followers[c] for c in fees if c in followers]
    total_cost = sum((money(f) for f in fees.values()), Decimal("0.00"))
    out[""] = replace(
        kpis(whole, rates, total_cost, sum(known) if known else None),
        emv=sum((k.emv for k in out.values()), Decimal("0.00")),
        authentic_emv=sum((k.authentic_emv for k in out.values()), Decimal("0.00")),
    )
    return out
