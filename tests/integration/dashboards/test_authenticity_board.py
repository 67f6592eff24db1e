"""The campaign board's authenticity section on chdb: a simulated run with pods, bots,
pasted comments and fake followers through the real pipeline and sink, every panel's
query (macros and variables expanded as Grafana does) against an independent recount
of the raw events (``tests/recount_authenticity.py``, the README's rules)."""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from campaignpulse.dashboards import authenticity
from campaignpulse.dashboards.macros import expand
from campaignpulse.dashboards.panels import SqlPanel
from campaignpulse.producers.authenticity_events import Inauthenticity, Truth
from campaignpulse.producers.simulator import CampaignSimulator
from campaignpulse.sinks.warehouse import EmbeddedWarehouse, migrate
from campaignpulse.sinks.writer import PendingWrites, WarehouseSink
from campaignpulse.sinks.writer_campaigns import CampaignDefinitionRow
from campaignpulse.streams.campaigns.definition import EMV_KINDS, default_emv_rates
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC
from campaignpulse.streams.pipeline import EngagementPipeline
from tests.integration.dashboards.conftest import EVERYTHING, _record
from tests.recount import to_ms
from tests.recount_authenticity import campaign_figures, recount

SEED, CREATORS, HOURS = 77, 24, 9
START_MS = 1_764_547_200_000  # 2025-12-01T00:00:00Z
HOUR_S = 3600
LATENESS_MS = 600_000
ENGAGEMENTS = 4  # likes, comments, saves, shares: the first four EMV kinds


@dataclass
class Run:
    warehouse: EmbeddedWarehouse
    lines: list[str]
    truth: Truth
    #: the recount: rows per (bucket ms, creator, media, campaign), rings, bots, reasons
    recount: dict[str, Any]
    campaigns: list[dict[str, Any]]
    #: creator -> [(observed ms, followers)], in time order
    snapshots: dict[str, list[tuple[int, int]]]
    alerts: dict[str, tuple[int, str]]  # alert id -> (last version, its status)
    from_s: int
    to_s: int

    def panel(self, title_start: str, from_s: int | None = None, to_s: int | None = None,
              interval_s: int = HOUR_S, **chosen: list[str]) -> list[dict[str, Any]]:
        spec = _spec(title_start)
        sql = expand(spec.sql, self.from_s if from_s is None else from_s,
                     self.to_s if to_s is None else to_s, interval_s,
                     {**EVERYTHING, **chosen})
        return self.warehouse.query(sql)

    def followers(self, to_s: int) -> dict[str, int]:
        """The latest count in the 24 hours before ``to_s``: of the hours that start from
        23 hours before the hour of ``to_s`` until ``to_s``."""
        first_ms = (to_s // HOUR_S * HOUR_S - 23 * HOUR_S) * 1000
        out = {}
        for creator, seen in self.snapshots.items():
            inside = [n for at, n in seen if first_ms <= at and at // 3_600_000 * 3600 <= to_s]
            if inside:
                out[creator] = inside[-1]
        return out


def _spec(title_start: str) -> SqlPanel:
    return next(p for p in authenticity.PANELS if p.title.startswith(title_start))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    sim = CampaignSimulator(seed=SEED, start_ms=START_MS, creators=CREATORS,
                            campaign_activity=True, inauthenticity=Inauthenticity())
    assert sim.activity is not None and sim.inauthentic is not None
    pipeline = EngagementPipeline(allowed_lateness_ms=LATENESS_MS)
    pending = PendingWrites.empty()
    offsets: dict[tuple[str, int], int] = {}
    envelopes = sim.activity.definitions()
    records = []
    for envelope in envelopes:
        record = _record(envelope, offsets)
        if envelope.topic == CAMPAIGNS_TOPIC:
            campaign_id, definition = pipeline.define_campaign(record.key, record.value)
            pending.campaigns.definitions.append(
                CampaignDefinitionRow(campaign_id, definition, record.offset))
        else:
            records.append(record)
    now_ms = START_MS + 2 * HOURS * 3_600_000
    for _ in range(HOURS * 360):
        batch = sim.step()
        envelopes.extend(batch)
        records.extend(_record(e, offsets) for e in batch)
        if len(records) < 2000:
            continue
        _collect(pending, pipeline.process(records, now_ms))
        records = []
    _collect(pending, pipeline.process(records, now_ms))
    pending.authenticity.add(pipeline.authenticity.stage.flush())  # the end of the input
    warehouse = EmbeddedWarehouse(str(tmp_path_factory.mktemp("authenticity") / "wh"))
    migrate(warehouse)
    assert not WarehouseSink(warehouse).write(pending)

    lines = [json.dumps({"topic": e.topic, "value": e.value}) for e in envelopes
             if isinstance(e.value, dict)]
    snapshots: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for e in envelopes:
        if e.topic == "ig.followers" and isinstance(e.value, dict):
            snapshots[e.value["creator_id"]].append((to_ms(e.value["observed_at"]),
                                                     e.value["followers_count"]))
    for seen in snapshots.values():
        seen.sort()
    alerts: dict[str, tuple[int, str]] = {}
    for a in pending.authenticity.alerts:
        if a.version > alerts.get(a.alert_id, (0, ""))[0]:
            alerts[a.alert_id] = (a.version, a.status)
    theirs = recount(lines, LATENESS_MS, lambda c: zlib.crc32(c.encode()) % 4)
    yield Run(warehouse, lines, sim.inauthentic.truth, theirs,
              [e.value for e in envelopes if e.topic == CAMPAIGNS_TOPIC
               and isinstance(e.value, dict)],
              snapshots, alerts, START_MS // 1000, START_MS // 1000 + HOURS * HOUR_S)
    warehouse.close()


def _collect(pending: PendingWrites, result: Any) -> None:
    assert {str(d.reason) for d in result.dead_letters} <= {"late"}, result.dead_letters[:3]
    pending.snapshots.extend(result.snapshots)
    pending.media.extend(result.media)
    pending.authenticity.add(result.authenticity)


def rates(campaign: dict[str, Any]) -> dict[str, Decimal]:
    return {**default_emv_rates(),
            **{k: Decimal(str(v)) for k, v in (campaign.get("emv_rates") or {}).items()}}


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _epoch(value: Any) -> int:
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp())


def assert_figures(got: dict[str, Any], want: dict[str, Any], where: object) -> None:
    assert (got["interactions"], got["authentic_interactions"]) == (
        want["interactions"], want["authentic_interactions"]), where
    for name in ("emv", "authentic_emv", "cpe", "authentic_cpe"):
        assert _money(got[name]) == want[name], (where, name)
    for name in ("engagement_rate", "authentic_engagement_rate", "pod_share", "bot_share"):
        if want[name] is None:
            assert got[name] is None, (where, name)
        else:
            assert got[name] == pytest.approx(want[name], rel=1e-12), (where, name)


def test_the_seeded_run_has_every_kind_of_evidence(run: Run) -> None:
    """Otherwise the panel tests below would compare empty tables."""
    reasons = {r for r in run.recount["reason"].values() if r}
    assert reasons == {"bot_account", "copy_paste", "burst", "pod"}
    assert run.recount["members"] and run.recount["bots"] and run.alerts
    assert len(run.campaigns) >= 2


def test_campaigns_to_date_equal_the_recount(run: Run) -> None:
    followers = run.followers(run.to_s)
    want = {}
    for c in run.campaigns:
        figures = campaign_figures(run.recount["rows"], c, followers, rates(c))
        if "" in figures:
            want[c["campaign_id"]] = figures[""]
    rows = {r["campaign"]: r for r in run.panel("Authentic beside raw engagement by campaign")}
    assert rows.keys() == want.keys() and want
    for campaign_id, figures in want.items():
        assert_figures(rows[campaign_id], figures, campaign_id)
    assert any(w["authentic_interactions"] < w["interactions"] for w in want.values())


def test_creators_to_date_equal_the_recount(run: Run) -> None:
    followers = run.followers(run.to_s)
    want = {}
    for c in run.campaigns:
        for creator, figures in campaign_figures(run.recount["rows"], c, followers,
                                                 rates(c)).items():
            if creator:
                want[(c["campaign_id"], creator)] = figures
    rows = {(r["campaign"], r["creator_id"]): r
            for r in run.panel("Authentic beside raw engagement by creator")}
    assert rows.keys() == want.keys() and want
    for key, figures in want.items():
        assert_figures(rows[key], figures, key)
        assert _money(rows[key]["cost"]) is not None


def test_one_creator_narrows_its_campaign_to_it(run: Run) -> None:
    """The campaign figures of one chosen creator: its fee, its followers, its rows."""
    campaign = run.campaigns[0]
    creator = campaign["creators"][0]["creator_id"]
    only = {**campaign, "creators": [c for c in campaign["creators"]
                                     if c["creator_id"] == creator]}
    rows = {(k[0], k[1], k[2], k[3]): v for k, v in run.recount["rows"].items()
            if k[1] == creator}
    want = campaign_figures(rows, only, run.followers(run.to_s), rates(campaign))[""]
    got = {r["campaign"]: r for r in run.panel("Authentic beside raw engagement by campaign",
                                               creator=[creator])}
    assert set(got) == {k[3] for k in rows if k[3]}
    assert_figures(got[campaign["campaign_id"]], want, creator)


@pytest.mark.parametrize("interval_s", [600, 2 * HOUR_S])
def test_raw_and_authentic_per_interval(run: Run, interval_s: int) -> None:
    from_s, to_s = run.from_s + HOUR_S + 600, run.to_s - 1200
    want: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (bucket_ms, *_), row in run.recount["rows"].items():
        if from_s <= bucket_ms // 1000 <= to_s:
            cell = want[bucket_ms // 1000 // interval_s * interval_s]
            cell[0] += sum(row["raw"][:ENGAGEMENTS])
            cell[1] += sum(row["authentic"][:ENGAGEMENTS])
    rows = run.panel("Raw and authentic interactions", from_s, to_s, interval_s)
    got = {_epoch(r["time"]): [r["interactions"], r["authentic_interactions"]] for r in rows}
    assert got == dict(want)


def test_posts_in_the_range_equal_the_recount(run: Run) -> None:
    from_s, to_s = run.from_s + 2 * HOUR_S, run.to_s - HOUR_S
    by_id = {c["campaign_id"]: c for c in run.campaigns}
    followers = run.followers(to_s)
    posts: dict[tuple[str, str, str], dict[str, list[int]]] = {}
    for (bucket_ms, creator, media, campaign), row in run.recount["rows"].items():
        if from_s <= bucket_ms // 1000 <= to_s:
            post = posts.setdefault((campaign or "organic", creator, media),
                                    {"raw": [0] * 6, "authentic": [0] * 6, "excluded": [0] * 4})
            for part, values in row.items():
                post[part] = [x + y for x, y in zip(post[part], values, strict=True)]
    excluded = {k: sum(p["raw"][:4]) - sum(p["authentic"][:4]) for k, p in posts.items()}
    ranked = sorted((k for k in posts if excluded[k] > 0), key=lambda k: (-excluded[k], k[2]))
    rows = run.panel("Posts with the most excluded", from_s, to_s)
    # (past 50, ties at the cut may be ordered either way: the posts above the last count)
    assert len(rows) == min(50, len(ranked)) and rows
    last = excluded[ranked[len(rows) - 1]]
    assert ({k for k in ranked if excluded[k] > last}
            <= {(r["campaign"], r["creator_id"], r["media_id"]) for r in rows})
    for r in rows:
        key = (r["campaign"], r["creator_id"], r["media_id"])
        post = posts[key]
        table = rates(by_id[r["campaign"]]) if r["campaign"] in by_id else default_emv_rates()
        n, a = sum(post["raw"][:4]), sum(post["authentic"][:4])
        assert (r["interactions"], r["authentic_interactions"]) == (n, a), key
        assert [r["bot_account"], r["copy_paste"], r["burst"], r["pod"]] == post["excluded"]
        for column, counts in (("emv", post["raw"]), ("authentic_emv", post["authentic"])):
            value = sum(Decimal(x) * table[k] for x, k in zip(counts, EMV_KINDS, strict=True))
            assert _money(r[column]) == value.quantize(Decimal("0.01"), "ROUND_HALF_UP")
        f = followers.get(key[1])
        assert r["engagement_rate"] == (pytest.approx(n / f) if f else None)


def test_rings_are_the_recounted_rings(run: Run) -> None:
    rows = run.panel("Engagement pods seen in the range")
    assert rows
    for r in rows:
        bucket = _epoch(r["last_seen"]) * 1000 // 600_000
        members, targets = set(r["members"].split(", ")), set(r["targets"].split(", "))
        assert any(ring["members"] == members and ring["targets"] == targets
                   for ring in run.recount["rings"][bucket]), r
    assert {m for r in rows for m in r["members"].split(", ")} == run.recount["members"]
    # a creator chosen: the rings that target it
    target = sorted(run.truth.ring_creators.values(), key=sorted)[0]
    creator = sorted(target)[0]
    only = run.panel("Engagement pods seen in the range", creator=[creator])
    assert only and all(creator in r["targets"].split(", ") for r in only)


def test_bots_are_the_recounted_bots(run: Run) -> None:
    rows = run.panel("Bot accounts flagged in the range")
    assert {r["actor_id"] for r in rows} == run.recount["bots"]
    for r in rows:
        assert set(r["reasons"].split(", ")) <= {"rate", "copy_paste"}, r


def test_pasted_comments_show_pasted_text(run: Run) -> None:
    from_s, to_s = run.from_s + 3 * HOUR_S, run.from_s + 4 * HOUR_S - 1
    rows = run.panel("Copy-paste comments in the range", from_s, to_s)
    copied = {e["event_id"] for e in _interactions(run)
              if e["event_id"] in run.recount["pasted"]
              and from_s * 1000 <= to_ms(e["occurred_at"]) // 600_000 * 600_000 <= to_s * 1000}
    texts = {" ".join(e["text"].casefold().split())[:200] for e in _interactions(run)
             if e["event_id"] in run.recount["pasted"]}
    assert rows and len(rows) < 50  # none cut: each excluded comment counts in one cluster
    assert sum(r["comments"] for r in rows) == len(copied)
    assert all(r["example"] in texts for r in rows)
    assert all(len(r["accounts"].split(", ")) >= 3 and len(r["creators"].split(", ")) >= 3
               for r in rows)


def test_audience_quality_per_creator(run: Run) -> None:
    rows = {r["creator_id"]: r for r in run.panel("Audience quality")}
    sampled: dict[str, set[str]] = defaultdict(set)
    for line in run.lines:
        e = json.loads(line)
        if e["topic"] == "ig.follower_samples":
            sampled[e["value"]["creator_id"]].add(e["value"]["follower_id"])
    assert {c: r["sampled"] for c, r in rows.items()} == {c: len(s) for c, s in sampled.items()}
    inside = sum(1 for c, r in rows.items() if r["low"] <= run.truth.fake_share[c] <= r["high"])
    assert inside >= 0.8 * len(rows)


def test_alerts_are_the_last_versions(run: Run) -> None:
    rows = run.panel("Inauthentic engagement alerts", run.from_s, run.to_s + 2 * HOUR_S)
    got = {f"authenticity-{r['campaign']}-{r['creator_id']}": (r["version"], r["status"])
           for r in rows}
    assert got == run.alerts


def test_all_equals_every_value_listed(run: Run) -> None:
    campaigns = sorted({c["campaign_id"] for c in run.campaigns} | {"organic"})
    creators = sorted({json.loads(line)["value"].get("creator_id") or "" for line in run.lines}
                      - {""})
    for spec in authenticity.PANELS:
        everything = run.panel(spec.title)
        listed = run.panel(spec.title, campaign=campaigns, creator=creators)
        assert everything and set(spec.columns) <= set(everything[0]), spec.title
        if spec.title.startswith("Authentic beside raw engagement by campaign"):
            continue  # "All" counts every listed creator's fee, as the KPI panel does
        if spec.title == "Audience quality":  # a creator without engagement is in none
            engaged = {k[1] for k in run.recount["rows"]}
            everything = [r for r in everything if r["creator_id"] in engaged]
        assert _rows(everything) == _rows(listed), spec.title


def _rows(rows: list[dict[str, Any]]) -> list[list[tuple[str, str]]]:
    return sorted(sorted((k, str(v)) for k, v in r.items()) for r in rows)


def _interactions(run: Run) -> list[dict[str, Any]]:
    return [v["value"] for v in map(json.loads, run.lines) if v["topic"] == "ig.interactions"]
