"""SQL of the campaign board's authenticity section (``authenticity.py``): raw and
authentic figures per campaign creator as ``streams/authenticity/kpis.py`` computes them,
and the filter of the evidence tables.

Money: rates and fees have at most 6 decimals (``Money``), so EMV is summed exactly in
micro-units and rounded half up to cents once per creator; CPE is cost ÷ interactions to
the cent, half up, from integer cents. Rates and fees come from the stored definition
(``campaigns.definition``, JSON), a kind the campaign does not set from the package's
default table.
"""

# ruff: noqa: S608 - SQL built from this module's constants only; Grafana fills the variables

from __future__ import annotations

from campaignpulse.dashboards.board_sql import (
    ALL,
    CAMPAIGN_VALUES,
    CAMPAIGNS,
    CREATOR_VALUES,
    CREATORS,
    hours,
)
from campaignpulse.sinks.schema_authenticity import EXCLUDED_COLUMNS
from campaignpulse.streams.campaigns.definition import EMV_KINDS, default_emv_rates

ENGAGEMENTS = ("like", "comment", "save", "share")
#: micro-units per currency unit: rates and fees have at most 6 decimals (``Money``)
_MICRO = 1_000_000


def interactions(prefix: str) -> str:
    return " + ".join(f"{prefix}_{k}s" for k in ENGAGEMENTS)


def cents_half_up(micro: str) -> str:
    """Micro-units to cents, half up (the amounts are never negative)."""
    return f"intDiv({micro} + {_MICRO // 200}, {_MICRO // 100})"


def money(cents: str) -> str:
    return f"toDecimal64({cents}, 2) / 100"


def _rate_micro(kind: str) -> str:
    """The campaign's rate for ``kind`` in micro-units: its own, else the default table's."""
    default = default_emv_rates()[kind]
    return (f"toInt64(toDecimal64(if(JSONHas(definition, 'emv_rates', '{kind}'), "
            f"JSONExtractString(definition, 'emv_rates', '{kind}'), '{default}'), 6) "
            f"* {_MICRO}) AS rate_{kind}")


def emv_micro(prefix: str) -> str:
    return " + ".join(f"toInt64({prefix}_{k}s) * rate_{k}" for k in EMV_KINDS)


COUNT_SUMS = ", ".join(
    [f"sum(raw_{k}s) AS raw_{k}s" for k in EMV_KINDS]
    + [f"sum(authentic_{k}s) AS authentic_{k}s" for k in EMV_KINDS]
    + [f"sum({c}) AS {c}" for c in EXCLUDED_COLUMNS]
)
_RATES = ", ".join(_rate_micro(k) for k in EMV_KINDS)
_FEE_MICRO = f"toInt64(toDecimal64(JSONExtractString(c, 'fee'), 6) * {_MICRO})"
#: campaigns running in the range: the definition's listed creators, their fee in cents
#: and the campaign's rates (a creator chosen narrows the list)
_LISTED = (
    "SELECT campaign_id, JSONExtractString(c, 'creator_id') AS creator_id, "
    f"{cents_half_up(_FEE_MICRO)} AS fee_cents, {_RATES} FROM campaigns FINAL "
    "ARRAY JOIN JSONExtractArrayRaw(definition, 'creators') AS c "
    "WHERE deleted = 0 AND starts_at <= $__toTime AND ends_at >= $__fromTime "
    f"AND {CAMPAIGNS} AND {CREATORS}"
)
#: judged rows of each campaign creator, to date
_TOTALS = (
    f"SELECT campaign_id, creator_id, {COUNT_SUMS} FROM authenticity_buckets FINAL "
    f"WHERE campaign_id != '' AND {CAMPAIGNS} AND {CREATORS} GROUP BY campaign_id, creator_id"
)
#: each creator's latest follower count in the 24 hours before the range's end
FOLLOWERS = (
    "SELECT creator_id, argMax(followers, hour) AS followers FROM follower_hours FINAL "
    f"WHERE {hours('hour', 'toStartOfHour($__toTime) - INTERVAL 23 HOUR')} AND {CREATORS} "
    "GROUP BY creator_id"
)
#: per listed creator: counts (0 without rows), fee, followers (0: none known), and EMV
#: in cents, raw and authentic
PER_CREATOR = (
    "SELECT l.campaign_id AS campaign_id, l.creator_id AS creator_id, "
    "t.creator_id != '' AS judged, l.fee_cents AS cost_cents, f.followers AS followers, "
    f"toUInt64({interactions('t.raw')}) AS interactions, "
    f"toUInt64({interactions('t.authentic')}) AS authentic_interactions, "
    "t.excluded_pod AS excluded_pod, "
    "t.excluded_bot_account + t.excluded_copy_paste + t.excluded_burst AS excluded_bot, "
    f"{cents_half_up(emv_micro('t.raw'))} AS emv_cents, "
    f"{cents_half_up(emv_micro('t.authentic'))} AS authentic_emv_cents "
    f"FROM ({_LISTED}) AS l LEFT JOIN ({_TOTALS}) AS t "
    "ON l.campaign_id = t.campaign_id AND l.creator_id = t.creator_id "
    f"LEFT JOIN ({FOLLOWERS}) AS f ON l.creator_id = f.creator_id"
)


def figures(n: str, a: str, followers: str, cost: str, pod: str, bot: str) -> str:
    """Raw beside authentic from counts ``n``/``a``, cents and excluded engagements."""
    return (
        f"{n} AS interactions, {a} AS authentic_interactions, "
        f"{n} / nullIf({followers}, 0) AS engagement_rate, "
        f"{a} / nullIf({followers}, 0) AS authentic_engagement_rate, "
        f"{money('emv_cents')} AS emv, {money('authentic_emv_cents')} AS authentic_emv, "
        f"{money(cost)} AS cost, "
        f"if({n} > 0, {money(f'intDiv(2 * {cost} + {n}, 2 * {n})')}, NULL) AS cpe, "
        f"if({a} > 0, {money(f'intDiv(2 * {cost} + {a}, 2 * {a})')}, NULL) AS authentic_cpe, "
        f"if({n} > 0, {pod} / {n}, NULL) AS pod_share, "
        f"if({n} > 0, {bot} / {n}, NULL) AS bot_share"
    )


FIGURES = ("interactions", "authentic_interactions", "engagement_rate",
           "authentic_engagement_rate", "emv", "authentic_emv", "cpe", "authentic_cpe",
           "pod_share", "bot_share")

#: the creators of the chosen campaigns, as an array (with "All" the subquery's condition
#: is constant false and it reads nothing)
_CAMPAIGN_CREATORS = (
    "(SELECT groupUniqArray(creator_id) FROM authenticity_buckets "
    f"WHERE NOT {ALL} IN ({CAMPAIGN_VALUES}) AND {CAMPAIGNS})"
)


def evidence_rows(table: str, when: str, creators: str) -> str:
    """The current rows of an evidence table ``when`` that name (array ``creators``) a
    chosen creator of a chosen campaign; a subquery, so the panel may reuse column names."""
    return (f"(SELECT * FROM {table} FINAL WHERE {when} "
            f"AND ({ALL} IN ({CAMPAIGN_VALUES}) OR hasAny({creators}, {_CAMPAIGN_CREATORS})) "
            f"AND ({ALL} IN ({CREATOR_VALUES}) OR hasAny({creators}, [{CREATOR_VALUES}])))")


#: every campaign's rates, and the default table's for organic content (campaign '')
RATES_BY_CAMPAIGN = (
    "SELECT '' AS campaign_id, "
    + ", ".join(f"toInt64({int(default_emv_rates()[k] * _MICRO)}) AS rate_{k}"
                for k in EMV_KINDS)
    + f" UNION ALL SELECT campaign_id, {_RATES} FROM campaigns FINAL WHERE deleted = 0"
)
