"""The core against the independent recount of the README's rules, on a simulated run
(seed 101: a seed no threshold was tuned on) with pods, bots, copy-paste comments,
giveaways and campaigns: every row, every share and every authentic KPI."""

from decimal import Decimal

import pytest

from campaignpulse.streams.authenticity.kpis import by, campaign_kpis
from campaignpulse.streams.authenticity.outputs import EXCLUSIONS, Exclusion
from campaignpulse.streams.campaigns.definition import parse_campaign
from tests.recount_authenticity import campaign_figures, recount
from tests.unit.streams.authenticity.simulated import partition_of, simulated

SEED, HOURS, CREATORS = 101, 10, 40


@pytest.fixture(scope="module")
def run():
    return simulated(SEED, HOURS, CREATORS)


@pytest.fixture(scope="module")
def recounted(run):
    return recount(run.lines)


def test_every_row_equals_the_recount(run, recounted):
    core = {(r.bucket_start_ms, r.creator_id, r.media_id, r.campaign_id):
            (r.raw, r.authentic, r.excluded) for r in run.rows()}
    theirs = {k: (v["raw"], v["authentic"], v["excluded"]) for k, v in recounted["rows"].items()}
    assert core == theirs
    # the run exercises every rule, not only the easy ones
    reasons = [r for r in recounted["reason"].values() if r is not None]
    for reason in EXCLUSIONS:
        assert reasons.count(reason.value) >= 10, reason
    assert sum(r.interactions for r in run.rows()) > 30_000
    # giveaway likes come up to 10 minutes before their comment: late for the stage's
    # watermark (all creators), not for their creator's
    assert sum(o.late for o in run.outputs) == recounted["late"] > 0


def test_media_read_batches_after_their_interactions_change_no_row():
    """A backlog read faster on ig.interactions than on ig.media (four partitions, the
    media of each batch four batches late) decides every row as the recount: the
    buckets wait for the media partitions."""
    run = simulated(7, 6, 24, media_delay=4, partitions=4)
    theirs = recount(run.lines, partition_of=partition_of(4))
    core = {(r.bucket_start_ms, r.creator_id, r.media_id, r.campaign_id):
            (r.raw, r.authentic, r.excluded) for r in run.rows()}
    assert core == {k: (v["raw"], v["authentic"], v["excluded"])
                    for k, v in theirs["rows"].items()}
    assert sum(v["excluded"][EXCLUSIONS.index(Exclusion.POD)]
               for v in theirs["rows"].values()) > 100


def test_shares_per_media_and_creator_equal_the_recount(run, recounted):
    rows = run.rows()
    for field in ("media_id", "creator_id"):
        core = by(rows, field)
        theirs: dict[str, list[int]] = {}
        for key, row in recounted["rows"].items():
            name = key[2] if field == "media_id" else key[1]
            total = theirs.setdefault(name, [0, 0, 0])
            total[0] += sum(row["raw"][:4])
            total[1] += row["excluded"][EXCLUSIONS.index(Exclusion.POD)]
            total[2] += sum(row["excluded"][:3])
        assert {k[0] for k in core} == set(theirs)
        for (name,), t in core.items():
            raw, pod, bot = theirs[name]
            expected_pod = pod / raw if raw else None
            expected_bot = bot / raw if raw else None
            assert (t.interactions, t.pod_share, t.bot_share) == (raw, expected_pod,
                                                                   expected_bot), name
    pod_shares = [t.pod_share for t in by(rows, "creator_id").values() if t.pod_share]
    assert len(pod_shares) >= 5  # several creators boosted by pods


def test_authentic_campaign_kpis_equal_the_recount(run, recounted):
    import json

    definitions = [json.loads(line)["value"] for line in run.lines
                   if json.loads(line)["topic"] == "ig.campaigns"]
    assert definitions
    for value in definitions:
        campaign = parse_campaign(value)
        core = campaign_kpis(campaign, run.rows(), run.followers)
        rates = {k: Decimal(v) for k, v in campaign.rates().items()}
        theirs = campaign_figures(recounted["rows"], value, run.followers, rates)
        assert set(core) == set(theirs)
        for creator, k in core.items():
            t = theirs[creator]
            assert (k.interactions, k.authentic_interactions, k.engagement_rate,
                    k.authentic_engagement_rate, k.emv, k.authentic_emv, k.cpe,
                    k.authentic_cpe, k.pod_share, k.bot_share) == (
                t["interactions"], t["authentic_interactions"], t["engagement_rate"],
                t["authentic_engagement_rate"], t["emv"], t["authentic_emv"], t["cpe"],
                t["authentic_cpe"], t["pod_share"], t["bot_share"]), (campaign.campaign_id,
                                                                      creator)
        assert core[""].authentic_emv < core[""].emv


def test_rings_and_bots_equal_the_recount(run, recounted):
    members = {m for o in run.outputs for r in o.rings for m in r.members}
    assert members == recounted["members"]
    flagged = {b.actor_id for o in run.outputs for b in o.bots}
    assert flagged == recounted["bots"]
