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

from campaignpulse.dashboards.authenticity_sql import (
    COUNT_SUMS,
    FIGURES,
    FOLLOWERS,
    PER_CREATOR,
    RATES_BY_CAMPAIGN,
    cents_half_up,
    emv_micro,
    evidence_rows,
    figures,
    interactions,
    money,
)
from campaignpulse.dashboards.board_sql import CAMPAIGN, CAMPAIGNS, CREATORS
from campaignpulse.dashboards.panels import SqlPanel, build_panel

IN_RANGE = "$__timeFilter(bucket_start)"

PANELS: list[SqlPanel] = [
    SqlPanel(
        "Authentic beside raw engagement by campaign, to date",
        "SELECT campaign_id AS campaign, "
        + figures("n", "a", "followers", "cost_cents", "pod", "bot")
        + " FROM (SELECT campaign_id, sum(interactions) AS n, sum(authentic_interactions) AS a, "
        "sum(followers) AS followers, sum(cost_cents) AS cost_cents, sum(emv_cents) AS emv_cents, "
        "sum(authentic_emv_cents) AS authentic_emv_cents, sum(excluded_pod) AS pod, "
        f"sum(excluded_bot) AS bot FROM ({PER_CREATOR}) GROUP BY campaign_id "
        "HAVING max(judged) = 1) ORDER BY emv DESC, campaign",
        ("campaign", *FIGURES), kind="table", width=24,
        description="Every judged bucket of the campaigns running in the range. Authentic: "
                    "not excluded as a bot account's, a pasted or burst comment, or a pod "
                    "member's early engagement. Cost: the whole fee of the listed (chosen) "
                    "creators; followers: theirs summed; EMV: the creators' summed. Pod and "
                    "bot shares are of raw engagements.",
    ),
    SqlPanel(
        "Authentic beside raw engagement by creator, to date",
        "SELECT campaign_id AS campaign, creator_id, "
        + figures("interactions", "authentic_interactions", "followers", "cost_cents",
                  "excluded_pod", "excluded_bot")
        + f" FROM ({PER_CREATOR}) WHERE judged "
        "ORDER BY pod_share + bot_share DESC, campaign, creator_id LIMIT 100",
        ("campaign", "creator_id", *FIGURES), kind="table", width=24,
        description="Each campaign creator with judged engagement, most excluded first; cost "
                    "is the creator's fee. Click a creator to narrow the board to it.",
    ),
    SqlPanel(
        "Raw and authentic interactions",
        "SELECT $__timeInterval(bucket_start) AS time, "
        f"sum({interactions('raw')}) AS interactions, "
        f"sum({interactions('authentic')}) AS authentic_interactions "
        f"FROM authenticity_buckets FINAL WHERE {IN_RANGE} AND {CAMPAIGNS} AND {CREATORS} "
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
        f"{money(cents_half_up(emv_micro('r.raw')))} AS emv, "
        f"{money(cents_half_up(emv_micro('r.authentic')))} AS authentic_emv, "
        "excluded_pod AS pod, excluded_bot_account AS bot_account, "
        "excluded_copy_paste AS copy_paste, excluded_burst AS burst "
        f"FROM (SELECT campaign_id, creator_id, media_id, {COUNT_SUMS}, "
        f"{interactions('raw')} AS n, {interactions('authentic')} AS a "
        f"FROM authenticity_buckets FINAL WHERE {IN_RANGE} AND {CAMPAIGNS} AND {CREATORS} "
        "GROUP BY campaign_id, creator_id, media_id) AS r "
        # the campaign's rates, the default table's for organic posts
        f"LEFT JOIN ({RATES_BY_CAMPAIGN}) AS rates USING campaign_id "
        f"LEFT JOIN ({FOLLOWERS}) AS f ON r.creator_id = f.creator_id "
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
        f"FROM {evidence_rows('authenticity_rings', '$__timeFilter(seen_at)', 'targets')} "
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
        f"FROM {evidence_rows('authenticity_bots', '$__timeFilter(flagged_at)', 'creators')} "
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
        f"FROM {evidence_rows('authenticity_clusters', IN_RANGE, 'creators')} GROUP BY cluster_id "
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
        f"FROM {evidence_rows('audience_quality', 'observed_at <= $__toTime', '[creator_id]')} "
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


def _link(board_uid: str, variable: str) -> dashboard.DynamicConfigValue:
    """Click a value: the board narrowed to it (time range and the other variable kept)."""
    other = "creator" if variable == "campaign" else "campaign"
    url = (f"/d/{board_uid}/?${{__url_time_range}}&${{{other}:queryparam}}"
           f"&var-{variable}=${{__value.raw}}")
    return dashboard.DynamicConfigValue("links", [{"title": f"Only this {variable}",
                                                   "url": url}])


def add_to(builder: board.Dashboard, first_id: int, board_uid: str) -> board.Dashboard:
    """The section's panels on the board ``board_uid``, with ids from ``first_id``."""
    for i, spec in enumerate(PANELS, start=first_id):
        panel = build_panel(spec, i)
        if isinstance(panel, table.Panel):
            panel = panel.override_by_regexp(
                ".*(rate|share|low|high|apparent)$",
                [dashboard.DynamicConfigValue("unit", "percentunit")])
            if "creator_id" in spec.columns:
                panel = panel.override_by_name("creator_id", [_link(board_uid, "creator")])
            if "campaign" in spec.columns:
                panel = panel.override_by_name("campaign", [_link(board_uid, "campaign")])
        builder = builder.with_panel(panel)
    return builder
