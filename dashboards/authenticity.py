"""The campaign board's authenticity section: authentic engagement beside raw, and the
evidence behind every exclusion (rings, bot accounts, pasted comments, audience estimate).

Figures follow the README ("Authenticity", Figures) exactly as ``streams/authenticity/
kpis.py`` computes them: sums of ``authenticity_buckets``; EMV with the campaign's rates
(its ``emv_rates`` over the package's default table, read from the stored definition) per
creator to the cent, a campaign's the sum of its creators'; cost the whole fee; CPE to the
cent, half up. Followers are each creator's latest count in the 24 hours before the
range's end (``follower_hours``). The panels narrow with the board's variables; a creator
or campaign in a table links back to the board narrowed to it. ``add_to`` puts the
section on a board: the campaign board's one hook.

Needs JSONExtract and ASOF-era servers (≥ 20.1), like the rest of the board.
"""

# ruff: noqa: S608 - SQL built from this module's constants only; Grafana fills the variables

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.models import dashboard

from campaignpulse.dashboards.board_sql import (
    ALL,
    CAMPAIGN,
    CAMPAIGN_VALUES,
    CAMPAIGNS,
    CREATOR_VALUES,
    CREATORS,
    hours,
)
from campaignpulse.dashboards.panels import SqlPanel, build_panel
from campaignpulse.sinks.schema_authenticity import EXCLUDED_COLUMNS
from campaignpulse.streams.campaigns.definition import EMV_KINDS, default_emv_rates

ENGAGEMENTS = ("like", "comment", "save", "share")
BOARD_UID = "campaignpulse-campaigns"
#: micro-units per currency unit: rates and fees have at most 6 decimals (``Money``)
_MICRO = 1_000_000


def _interactions(prefix: str) -> str:
    return " + ".join(f"{prefix}_{k}s" for k in ENGAGEMENTS)


def _cents_half_up(micro: str) -> str:
    """Micro-units to cents, half up (the amounts are never negative)."""
    return f"intDiv({micro} + {_MICRO // 200}, {_MICRO // 100})"


def _money(cents: str) -> str:
    return f"toDecimal64({cents}, 2) / 100"


def _rate_micro(kind: str) -> str:
    """The campaign's rate for ``kind`` in micro-units: its own, else the default table's."""
    default = default_emv_rates()[kind]
    return (f"toInt64(toDecimal64(if(JSONHas(definition, 'emv_rates', '{kind}'), "
            f"JSONExtractString(definition, 'emv_rates', '{kind}'), '{default}'), 6) "
            f"* {_MICRO}) AS rate_{kind}")


def _emv_micro(prefix: str) -> str:
    return " + ".join(f"toInt64({prefix}_{k}s) * rate_{k}" for k in EMV_KINDS)


_COUNT_SUMS = ", ".join(
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
    f"{_cents_half_up(_FEE_MICRO)} AS fee_cents, {_RATES} FROM campaigns FINAL "
    "ARRAY JOIN JSONExtractArrayRaw(definition, 'creators') AS c "
    "WHERE deleted = 0 AND starts_at <= $__toTime AND ends_at >= $__fromTime "
    f"AND {CAMPAIGNS} AND {CREATORS}"
)
#: judged rows of each campaign creator, to date
_TOTALS = (
    f"SELECT campaign_id, creator_id, {_COUNT_SUMS} FROM authenticity_buckets FINAL "
    f"WHERE campaign_id != '' AND {CAMPAIGNS} AND {CREATORS} GROUP BY campaign_id, creator_id"
)
#: each creator's latest follower count in the 24 hours before the range's end
_FOLLOWERS = (
    "SELECT creator_id, argMax(followers, hour) AS followers FROM follower_hours FINAL "
    f"WHERE {hours('hour', 'toStartOfHour($__toTime) - INTERVAL 23 HOUR')} AND {CREATORS} "
    "GROUP BY creator_id"
)
#: per listed creator: counts (0 without rows), fee, followers (0: none known), and EMV
#: in cents, raw and authentic
_PER_CREATOR = (
    "SELECT l.campaign_id AS campaign_id, l.creator_id AS creator_id, "
    "t.creator_id != '' AS judged, l.fee_cents AS cost_cents, f.followers AS followers, "
    f"toUInt64({_interactions('t.raw')}) AS interactions, "
    f"toUInt64({_interactions('t.authentic')}) AS authentic_interactions, "
    "t.excluded_pod AS excluded_pod, "
    "t.excluded_bot_account + t.excluded_copy_paste + t.excluded_burst AS excluded_bot, "
    f"{_cents_half_up(_emv_micro('t.raw'))} AS emv_cents, "
    f"{_cents_half_up(_emv_micro('t.authentic'))} AS authentic_emv_cents "
    f"FROM ({_LISTED}) AS l LEFT JOIN ({_TOTALS}) AS t "
    "ON l.campaign_id = t.campaign_id AND l.creator_id = t.creator_id "
    f"LEFT JOIN ({_FOLLOWERS}) AS f ON l.creator_id = f.creator_id"
)


def _figures(n: str, a: str, followers: str, cost: str, pod: str, bot: str) -> str:
    """Raw beside authentic from counts ``n``/``a``, cents and excluded engagements."""
    return (
        f"{n} AS interactions, {a} AS authentic_interactions, "
        f"{n} / nullIf({followers}, 0) AS engagement_rate, "
        f"{a} / nullIf({followers}, 0) AS authentic_engagement_rate, "
        f"{_money('emv_cents')} AS emv, {_money('authentic_emv_cents')} AS authentic_emv, "
        f"{_money(cost)} AS cost, "
        f"if({n} > 0, {_money(f'intDiv(2 * {cost} + {n}, 2 * {n})')}, NULL) AS cpe, "
        f"if({a} > 0, {_money(f'intDiv(2 * {cost} + {a}, 2 * {a})')}, NULL) AS authentic_cpe, "
        f"if({n} > 0, {pod} / {n}, NULL) AS pod_share, "
        f"if({n} > 0, {bot} / {n}, NULL) AS bot_share"
    )


_FIGURES = ("interactions", "authentic_interactions", "engagement_rate",
            "authentic_engagement_rate", "emv", "authentic_emv", "cpe", "authentic_cpe",
            "pod_share", "bot_share")

#: the creators of the chosen campaigns, as an array (with "All" the subquery's condition
#: is constant false and it reads nothing)
_CAMPAIGN_CREATORS = (
    "(SELECT groupUniqArray(creator_id) FROM authenticity_buckets "
    f"WHERE NOT {ALL} IN ({CAMPAIGN_VALUES}) AND {CAMPAIGNS})"
)


def _rows(table: str, when: str, creators: str) -> str:
    """The current rows of an evidence table ``when`` that name (array ``creators``) a
    chosen creator of a chosen campaign; a subquery, so the panel may reuse column names."""
    return (f"(SELECT * FROM {table} FINAL WHERE {when} "
            f"AND ({ALL} IN ({CAMPAIGN_VALUES}) OR hasAny({creators}, {_CAMPAIGN_CREATORS})) "
            f"AND ({ALL} IN ({CREATOR_VALUES}) OR hasAny({creators}, [{CREATOR_VALUES}])))")


_IN_RANGE = "$__timeFilter(bucket_start)"

PANELS: list[SqlPanel] = [
    SqlPanel(
        "Authentic beside raw engagement by campaign, to date",
        "SELECT campaign_id AS campaign, "
        + _figures("n", "a", "followers", "cost_cents", "pod", "bot")
        + " FROM (SELECT campaign_id, sum(interactions) AS n, sum(authentic_interactions) AS a, "
        "sum(followers) AS followers, sum(cost_cents) AS cost_cents, sum(emv_cents) AS emv_cents, "
        "sum(authentic_emv_cents) AS authentic_emv_cents, sum(excluded_pod) AS pod, "
        f"sum(excluded_bot) AS bot FROM ({_PER_CREATOR}) GROUP BY campaign_id "
        "HAVING max(judged) = 1) ORDER BY emv DESC, campaign",
        ("campaign", *_FIGURES), kind="table", width=24,
        description="Every judged bucket of the campaigns running in the range. Authentic: "
                    "not excluded as a bot account's, a pasted or burst comment, or a pod "
                    "member's early engagement. Cost: the whole fee of the listed (chosen) "
                    "creators; followers: theirs summed; EMV: the creators' summed. Pod and "
                    "bot shares are of raw engagements.",
    ),
    SqlPanel(
        "Authentic beside raw engagement by creator, to date",
        "SELECT campaign_id AS campaign, creator_id, "
        + _figures("interactions", "authentic_interactions", "followers", "cost_cents",
                   "excluded_pod", "excluded_bot")
        + f" FROM ({_PER_CREATOR}) WHERE judged "
        "ORDER BY pod_share + bot_share DESC, campaign, creator_id LIMIT 100",
        ("campaign", "creator_id", *_FIGURES), kind="table", width=24,
        description="Each campaign creator with judged engagement, most excluded first; cost "
                    "is the creator's fee. Click a creator to narrow the board to it.",
    ),
    SqlPanel(
        "Raw and authentic interactions",
        "SELECT $__timeInterval(bucket_start) AS time, "
        f"sum({_interactions('raw')}) AS interactions, "
        f"sum({_interactions('authentic')}) AS authentic_interactions "
        f"FROM authenticity_buckets FINAL WHERE {_IN_RANGE} AND {CAMPAIGNS} AND {CREATORS} "
        "GROUP BY time ORDER BY time",
        ("time", "interactions", "authentic_interactions"),
        min_interval="10m", width=24,
        description="Likes, comments, saves and shares per judged 10-minute bucket, all of "
                    "them and the authentic ones.",
    ),
    SqlPanel(
        "Posts with the most excluded engagement in the range",
        f"SELECT {CAMPAIGN} AS campaign, r.creator_id AS creator_id, media_id, "
        "n AS interactions, a AS authentic_interactions, "
        "n / nullIf(f.followers, 0) AS engagement_rate, "
        "a / nullIf(f.followers, 0) AS authentic_engagement_rate, "
        f"{_money(_cents_half_up(_emv_micro('r.raw')))} AS emv, "
        f"{_money(_cents_half_up(_emv_micro('r.authentic')))} AS authentic_emv, "
        "excluded_pod AS pod, excluded_bot_account AS bot_account, "
        "excluded_copy_paste AS copy_paste, excluded_burst AS burst "
        f"FROM (SELECT campaign_id, creator_id, media_id, {_COUNT_SUMS}, "
        f"{_interactions('raw')} AS n, {_interactions('authentic')} AS a "
        f"FROM authenticity_buckets FINAL WHERE {_IN_RANGE} AND {CAMPAIGNS} AND {CREATORS} "
        "GROUP BY campaign_id, creator_id, media_id) AS r "
        # the campaign's rates, the default table's for organic posts
        f"LEFT JOIN (SELECT '' AS campaign_id, "
        + ", ".join(f"toInt64({int(default_emv_rates()[k] * _MICRO)}) AS rate_{k}"
                    for k in EMV_KINDS)
        + " UNION ALL SELECT campaign_id, "
        + _RATES + " FROM campaigns FINAL WHERE deleted = 0) AS rates USING campaign_id "
        f"LEFT JOIN ({_FOLLOWERS}) AS f ON r.creator_id = f.creator_id "
        "WHERE n > a ORDER BY n - a DESC, media_id LIMIT 50",
        ("campaign", "creator_id", "media_id", "interactions", "authentic_interactions",
         "emv", "authentic_emv", "pod", "bot_account", "copy_paste", "burst"),
        kind="table", width=24,
        description="Judged buckets in the range, per post: engagement rate over the "
                    "creator's followers, EMV at the campaign's rates (organic posts: the "
                    "default table), and the excluded engagements by reason. A fee is per "
                    "creator, so CPE is per creator and campaign, not per post.",
    ),
    SqlPanel(
        "Engagement pods seen in the range",
        "SELECT ring_id, max(seen_at) AS last_seen, "
        "arrayStringConcat(argMax(members, seen_at), ', ') AS members, "
        "arrayStringConcat(argMax(targets, seen_at), ', ') AS targets, "
        "argMax(shared_media, seen_at) AS shared_media "
        f"FROM {_rows('authenticity_rings', '$__timeFilter(seen_at)', 'targets')} "
        "GROUP BY ring_id ORDER BY shared_media DESC, ring_id LIMIT 50",
        ("ring_id", "last_seen", "members", "targets", "shared_media"),
        kind="table", width=24,
        description="Accounts early (within 10 minutes of publication) on the same posts of "
                    "the same creators again and again. Targets: the creators on whose posts "
                    "two or more members were early; shared media: how many such posts. The "
                    "latest membership seen in the range.",
    ),
    SqlPanel(
        "Bot accounts flagged in the range",
        "SELECT actor_id, min(flagged_at) AS flagged_at, "
        "arrayStringConcat(arraySort(groupUniqArrayArray(reasons)), ', ') AS reasons, "
        "arrayStringConcat(arraySort(groupUniqArrayArray(creators)), ', ') AS creators "
        f"FROM {_rows('authenticity_bots', '$__timeFilter(flagged_at)', 'creators')} "
        "GROUP BY actor_id "
        "ORDER BY flagged_at DESC, actor_id LIMIT 100",
        ("actor_id", "flagged_at", "reasons", "creators"),
        kind="table",
        description="rate: 30+ engagements on 10+ creators in an hour; copy_paste: pasted or "
                    "burst comments on 2+ creators in 6 hours. Creators: those it engaged when "
                    "flagged. Every interaction of a bot is excluded.",
    ),
    SqlPanel(
        "Copy-paste comments in the range",
        "SELECT cluster_id, max(bucket_start) AS last_seen, "
        "argMax(example, bucket_start) AS example, sum(comments) AS comments, "
        "arrayStringConcat(argMax(accounts, bucket_start), ', ') AS accounts, "
        "arrayStringConcat(argMax(creators, bucket_start), ', ') AS creators "
        f"FROM {_rows('authenticity_clusters', _IN_RANGE, 'creators')} GROUP BY cluster_id "
        "ORDER BY comments DESC, cluster_id LIMIT 50",
        ("cluster_id", "example", "comments", "accounts", "creators"),
        kind="table",
        description="The same comment (near-duplicates included) from 3+ accounts on 3+ "
                    "creators within 6 hours: an example text, the comments excluded in the "
                    "range, its most recent accounts and creators.",
    ),
    SqlPanel(
        "Audience quality",
        "SELECT creator_id, max(observed_at) AS estimated_at, argMax(sampled, observed_at) "
        "AS sampled, argMax(flagged, observed_at) AS flagged, argMax(apparent, observed_at) "
        "AS apparent, argMax(share, observed_at) AS inauthentic_share, "
        "argMax(low, observed_at) AS low, argMax(high, observed_at) AS high "
        f"FROM {_rows('audience_quality', 'observed_at <= $__toTime', '[creator_id]')} "
        "GROUP BY creator_id ORDER BY low DESC, creator_id LIMIT 100",
        ("creator_id", "sampled", "inauthentic_share", "low", "high"),
        kind="table",
        description="The latest estimate by the range's end: sampled followers, those the "
                    "model flags, and the inauthentic share corrected for the model's "
                    "measured error with its 95 % interval (README: Audience quality; it "
                    "leans high on real audiences).",
    ),
    SqlPanel(
        "Inauthentic engagement alerts",
        "SELECT observed_at, campaign_id AS campaign, creator_id, status, "
        "arrayStringConcat(reasons, ', ') AS reasons, pod_share, bot_share, inauthentic_low, "
        "engagements, version FROM authenticity_alerts FINAL "
        "WHERE observed_at <= $__toTime AND (status = 'firing' OR observed_at >= $__fromTime) "
        f"AND {CAMPAIGNS} AND {CREATORS} "
        "ORDER BY status = 'firing' DESC, observed_at DESC, creator_id LIMIT 50",
        ("observed_at", "campaign", "creator_id", "status", "reasons"),
        kind="table",
        description="Sent to the campaign team (not the pager): a creator's pod or bot "
                    "share ≥ 0.2, the low end of its inauthentic audience ≥ 0.3, or a jump of "
                    "0.1; every one still firing, and those that changed in the range.",
    ),
]


def _link(column: str, variable: str) -> dashboard.DynamicConfigValue:
    """Click a value of ``column``: the board narrowed to it (time range and the other
    variable kept)."""
    other = "creator" if variable == "campaign" else "campaign"
    url = (f"/d/{BOARD_UID}/?${{__url_time_range}}&${{{other}:queryparam}}"
           f"&var-{variable}=${{__value.raw}}")
    return dashboard.DynamicConfigValue("links", [{"title": f"Only this {variable}",
                                                   "url": url}])


def add_to(builder: board.Dashboard, first_id: int) -> board.Dashboard:
    """The section's panels, with ids from ``first_id``."""
    for i, spec in enumerate(PANELS, start=first_id):
        panel = build_panel(spec, i)
        if isinstance(panel, table.Panel):
            panel = panel.override_by_regexp(
                ".*(rate|share|low|high|apparent)$",
                [dashboard.DynamicConfigValue("unit", "percentunit")])
            if "creator_id" in spec.columns:
                panel = panel.override_by_name("creator_id", [_link("creator_id", "creator")])
            if "campaign" in spec.columns:
                panel = panel.override_by_name("campaign", [_link("campaign", "campaign")])
        builder = builder.with_panel(panel)
    return builder
