"""After a restart the campaign stage rebuilds from re-read records, each event once.

Engagement state comes back from the changelog and skips what it decided before; campaign
KPI windows are not checkpointed, hold the commit at their first record, and are rebuilt
from the records re-read from there. The rebuilt rows must equal an uninterrupted run's.
"""

from __future__ import annotations

import orjson

from campaignpulse.streams.pipeline import EngagementPipeline, RawRecord
from campaignpulse.streams.state.codec import StateRestorer, checkpoint_records
from campaignpulse.streams.timestamps import format_timestamp_ms

T0 = 1_795_737_600_000
H = 3_600_000
NOW = T0 + 10 * H
LATENESS = 600_000
CAMPAIGN = orjson.dumps({
    "campaign_id": "cmp-1", "brand": "Acme", "name": "W", "currency": "EUR",
    "starts_at": T0, "ends_at": T0 + 4 * H,
    "creators": [{"creator_id": "cr-1", "fee": "100"}],
    "emv_rates": {"like": "0.10", "comment": "0.50"},
})


def record(offset: int, n: int, kind: str, at: int, actor: str) -> RawRecord:
    value = {"event_id": f"e{n}", "creator_id": "cr-1", "media_id": "m1",
             "campaign_id": "cmp-1", "kind": kind, "actor_id": actor,
             "occurred_at": format_timestamp_ms(at), "text": None}
    return RawRecord("ig.interactions", 0, offset, b"cr-1", orjson.dumps(value))


def fresh() -> EngagementPipeline:
    pipeline = EngagementPipeline(allowed_lateness_ms=LATENESS)
    pipeline.campaigns.define_campaign(b"cmp-1", CAMPAIGN)
    return pipeline


def kpis(rows: list[object]) -> dict[tuple[object, ...], tuple[object, ...]]:
    """The newest row per grain (what ReplacingMergeTree keeps: the highest version)."""
    out: dict[tuple[object, ...], tuple[object, ...]] = {}
    for r in rows:
        key = (r.window_seconds, r.window_start_ms, r.creator_id)  # type: ignore[attr-defined]
        value = (r.version, r.counts, r.interactions, str(r.emv))  # type: ignore[attr-defined]
        if key not in out or value[0] >= out[key][0]:
            out[key] = value
    return out


def test_restart_rebuilds_campaign_windows_from_re_read_records_once() -> None:
    records = [record(i + 1, i, "like" if i % 3 else "comment", T0 + H + i * 60_000, f"a{i % 7}")
               for i in range(40)]
    records.insert(10, record(100, 3, "comment", T0 + H + 3 * 60_000, "a3"))  # a re-delivery
    records = [RawRecord(r.topic, 0, i + 1, r.key, r.value) for i, r in enumerate(records)]
    first, second = records[:25], records[25:]

    whole = fresh()
    expected = kpis(whole.process(first, NOW).campaign_kpis
                    + whole.process(second, NOW).campaign_kpis)

    live = fresh()
    rows = live.process(first, NOW).campaign_kpis
    restorer = StateRestorer()
    saved = checkpoint_records(live.aggregator, live.spikes, lambda _creator: 0, NOW)
    restorer.add_all((key, value) for _partition, key, value in saved)
    # the open campaign windows hold the commit at their first record
    held = min(live.campaigns.kpis.resume_offsets([0]).values())
    assert held == 1

    restarted = fresh()
    restorer.apply(restarted.aggregator, restarted.spikes)
    again = restarted.process([r for r in records if r.offset >= held], NOW)
    assert again.duplicates == 0  # engagement decided the re-read records before
    assert kpis(rows + again.campaign_kpis) == expected
    assert kpis(again.campaign_kpis) == expected  # rebuilt whole, not on top of the old rows
