"""Campaign KPI rows from interactions: range, membership, hours, to date, eviction."""

from decimal import Decimal

import msgspec

from campaignpulse.streams.campaigns.aggregator import CampaignKpiAggregator
from campaignpulse.streams.campaigns.definition import parse_campaign
from campaignpulse.streams.contract import KIND_INDEX, Interaction
from campaignpulse.streams.state.store import Store

D = Decimal
H = 3_600_000
T0 = 1_795_737_600_000  # 2026-11-27T00:00:00Z
CAMPAIGN = parse_campaign({
    "campaign_id": "cmp-1", "brand": "Acme", "name": "Winter", "starts_at": T0 + H // 2,
    "ends_at": T0 + 4 * H + H // 2, "currency": "EUR",
    "creators": [{"creator_id": "cr-1", "fee": "400"}],
    "emv_rates": {"like": "0.10", "comment": "0.50", "save": "0.40", "share": "0.60",
                  "story_view": "0.02", "reel_play": "0.01"},
})
_seq = iter(range(1_000_000))


def ev(kind, ts, actor="a1", creator="cr-1", campaign="cmp-1"):
    return Interaction(f"e{next(_seq)}", creator, "m1", campaign, KIND_INDEX[kind], actor, ts)


def rows_by_key(rows):
    return {(r.window_seconds, r.window_start_ms, r.creator_id): r for r in rows}


def test_counts_only_listed_creators_inside_the_campaign():
    agg = CampaignKpiAggregator(allowed_lateness_ms=600_000)
    agg.define("cmp-1", CAMPAIGN)
    events = [
        ev("like", T0 + H // 2 - 1),  # before starts_at
        ev("like", T0 + H // 2),  # first counted instant
        ev("comment", T0 + H // 2 + 5, actor="a2"),
        ev("story_view", T0 + 40 * 60_000, actor="a3"),
        ev("story_view", T0 + 41 * 60_000, actor="a3"),  # same viewer: reach 1
        ev("reel_play", T0 + H + 1, actor="a4"),  # next hour
        ev("story_reply", T0 + H + 2),  # not an EMV kind, not an interaction
        ev("like", T0 + H + 3, creator="cr-9"),  # not in the campaign
        ev("like", T0 + H + 4, campaign="cmp-x"),  # unknown campaign
        ev("like", T0 + H + 5, campaign=""),  # organic
    ]
    for e in events:
        agg.add(e, partition=0)
    rows = rows_by_key(agg.drain())
    assert agg.ignored == 3
    first = rows[(3600, T0, "cr-1")]
    assert first.counts == (1, 1, 0, 0, 2, 0)
    assert (first.interactions, first.reach, first.version) == (2, 1, 4)
    # 1 × 0.10 + 1 × 0.50 + 2 × 0.02 = 0.64; cost: 30 of 240 minutes of 400 = 50.00
    assert (first.emv, first.cost) == (D("0.64"), D("50.00"))
    second = rows[(3600, T0 + H, "cr-1")]
    assert (second.counts, second.reach, second.emv, second.cost) == (
        (0, 0, 0, 0, 0, 1), 1, D("0.01"), D("100.00"))
    assert second.version == 2
    total = rows[(0, 0, "cr-1")]
    assert total.window_end_ms == CAMPAIGN.ends_at
    assert total.counts == (1, 1, 0, 0, 2, 1)
    assert (total.interactions, total.reach, total.version) == (2, 2, 6)
    assert (total.emv, total.cost) == (D("0.65"), D("400.00"))  # the whole fee to date


def test_to_date_window_is_state_until_the_watermark_passes_the_end():
    store = Store()
    agg = CampaignKpiAggregator(allowed_lateness_ms=600_000, store=store)
    agg.define("cmp-1", CAMPAIGN)
    agg.add(ev("like", T0 + H), partition=2)
    agg.add(ev("reel_play", T0 + 3 * H, actor="a7"), partition=2)
    agg.drain()
    written = store.changes({("ig.interactions", 2): 12})
    keys = {msgspec.msgpack.decode(k)[0] for p, k, v in written if v is not None and p == 2}
    assert {"kpis", "kpi_viewers"} <= keys  # the open windows and their reach
    # an organic event moves the creator's watermark past the campaign end (+ lateness)
    agg.add(ev("like", CAMPAIGN.ends_at + 600_000, campaign=""), partition=2)
    agg.drain()
    assert agg.open_windows() == 0
    deleted = store.changes({("ig.interactions", 2): 13})
    assert sum(1 for _, _, v in deleted if v is None) == 4  # 3 windows and a viewer chunk


def test_a_deleted_campaign_stops_counting():
    agg = CampaignKpiAggregator(allowed_lateness_ms=0)
    agg.define("cmp-1", CAMPAIGN)
    agg.define("cmp-1", None)
    agg.add(ev("like", T0 + H), partition=0)
    assert agg.drain() == [] and agg.ignored == 1
