"""An independent, deliberately plain recount of the README's authenticity rules.

Written from the README section "Authenticity", not from ``streams/authenticity``: it
shares no code with it. The near-duplicate rule is defined by datasketch's MinHash and
its choice of LSH bands, so the recount asks datasketch for the signatures and the band
sizes and compares the bands itself; every window is recounted from the full list of
events.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from datasketch import MinHash, MinHashLSH

from tests.recount_campaigns import accepted_interactions, ms

BUCKET = 10 * 60_000
HOUR = 3_600_000
EMV_KINDS = ("like", "comment", "save", "share", "story_view", "reel_play")
ENGAGEMENTS = ("like", "comment", "save", "share")
REASONS = ("bot_account", "copy_paste", "burst", "pod")


def normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def four_grams(text: str) -> set[str]:
    if len(text) <= 4:
        return {text}
    return {text[i:i + 4] for i in range(len(text) - 3)}


@cache
def band_sizes() -> tuple[int, int]:
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    return lsh.b, lsh.r


def bands(text: str) -> set[tuple[int, bytes]]:
    """The (band number, band values) of the text's MinHash signature."""
    b, r = band_sizes()
    m = MinHash(num_perm=128, seed=1)
    for gram in four_grams(text):
        m.update(gram.encode("utf-8"))
    values = list(m.hashvalues)
    return {(i, repr(values[i * r:(i + 1) * r]).encode()) for i in range(b)}


def recount(lines: list[str], lateness_ms: int = 600_000,
            partition_of: Callable[[str], int] = lambda creator: 0) -> dict[str, Any]:
    """Per interaction the reason it is excluded (or None), the rows, rings and bots;
    ``partition_of`` gives a creator's input partition (the file's order is each
    partition's)."""
    values = [json.loads(line) for line in lines]
    published: dict[str, int] = {}
    for v in values:
        if v["topic"] == "ig.media":
            published.setdefault(v["value"]["media_id"], ms(v["value"]["published_at"]))
    campaigns = {v["value"]["campaign_id"]: v["value"] for v in values
                 if v["topic"] == "ig.campaigns" and v["value"] is not None}
    # the stage's own lateness: older than its partition's newest event time less the
    # lateness
    events = []
    newest: dict[int, int] = {}
    late = 0
    for e in accepted_interactions(lines, lateness_ms):
        partition = partition_of(e["creator_id"])
        if e["ts"] < newest.get(partition, -1) - lateness_ms:
            late += 1
            continue
        newest[partition] = max(newest.get(partition, -1), e["ts"])
        events.append(e)
    for e in events:
        e["bucket"] = e["ts"] // BUCKET
        e["campaign"] = campaign_of(e, campaigns)
        text = e.get("text") if e["kind"] == "comment" else None
        e["norm"] = normalised(text) if text else None
        if e["norm"] is None:
            e["style"] = None
        else:
            e["style"] = "generic" if len(re.findall(r"\w+", e["norm"])) <= 3 else "specific"
        pub = e["published"] = published.get(e["media_id"])
        e["early"] = (e["kind"] in ENGAGEMENTS and pub is not None
                      and 0 <= e["ts"] - pub < 10 * 60_000)

    reason: dict[str, str | None] = {}
    pasted: set[str] = set()  # comments copy-paste by rule 1, whatever their exclusion
    suspicious: list[tuple[int, str, str]] = []  # (bucket, account, creator)
    bots_at: dict[int, set[str]] = {}
    rings_at: dict[int, list[dict[str, Any]]] = {}
    signature: dict[str, set[tuple[int, bytes]]] = {}
    by_bucket = defaultdict(list)
    for e in events:
        by_bucket[e["bucket"]].append(e)
    specific = [e for e in events if e["style"] == "specific"]
    engagements_of = defaultdict(list)
    for e in events:
        if e["kind"] in ENGAGEMENTS:
            engagements_of[e["actor_id"]].append(e)
    early = [e for e in events if e["early"]]
    generic = defaultdict(list)
    for e in events:
        if e["style"] == "generic":
            generic[e["media_id"]].append(e)

    for b in sorted(by_bucket):
        end = (b + 1) * BUCKET
        mine = by_bucket[b]
        # 1. copy-paste
        copied = set()
        window = defaultdict(list)  # band -> specific comments of the window on it
        for s in specific:
            if end - 6 * HOUR <= s["ts"] < end:
                if s["norm"] not in signature:
                    signature[s["norm"]] = bands(s["norm"])
                for band in signature[s["norm"]]:
                    window[band].append(s)
        for c in (e for e in mine if e["style"] == "specific"):
            near = [s for band in signature[c["norm"]] for s in window[band]]
            if (len({s["actor_id"] for s in near}) >= 3
                    and len({s["creator_id"] for s in near}) >= 3):
                copied.add(c["event_id"])
        pasted |= copied
        # 2. bursts
        burst = set()
        for c in (e for e in mine if e["style"] == "generic"):
            others = generic[c["media_id"]]
            for s in others:
                if c["ts"] - 60_000 < s["ts"] <= c["ts"]:
                    accounts = {o["actor_id"] for o in others
                                if s["ts"] <= o["ts"] < s["ts"] + 60_000}
                    if len(accounts) >= 5:
                        burst.add(c["event_id"])
                        break
        suspicious += [(b, e["actor_id"], e["creator_id"]) for e in mine
                       if e["event_id"] in copied or e["event_id"] in burst]
        # 3. bots, for the accounts of this bucket
        bots = set()
        for a in {e["actor_id"] for e in mine}:
            recent = [e for e in engagements_of[a] if end - HOUR <= e["ts"] < end]
            if len(recent) >= 30 and len({e["creator_id"] for e in recent}) >= 10:
                bots.add(a)
            if len({c for bb, aa, c in suspicious if aa == a and b - 36 < bb <= b}) >= 2:
                bots.add(a)
        bots_at[b] = bots
        # 4. pods
        rings = pods(early, b, bots_at)
        rings_at[b] = rings
        # 5. exclusion
        for e in mine:
            a = e["actor_id"]
            ring = next((r for r in rings if a in r["members"]), None)
            if a in bots:
                why = "bot_account"
            elif e["event_id"] in copied:
                why = "copy_paste"
            elif e["event_id"] in burst:
                why = "burst"
            elif e["early"] and ring is not None and e["creator_id"] in ring["targets"]:
                why = "pod"
            else:
                why = None
            reason[e["event_id"]] = why

    rows: dict[tuple[int, str, str, str], dict[str, list[int]]] = {}
    for e in events:
        key = (e["bucket"] * BUCKET, e["creator_id"], e["media_id"], e["campaign"])
        row = rows.setdefault(key, {"raw": [0] * 6, "authentic": [0] * 6, "excluded": [0] * 4})
        why = reason[e["event_id"]]
        if e["kind"] in EMV_KINDS:
            i = EMV_KINDS.index(e["kind"])
            row["raw"][i] += 1
            if why is None:
                row["authentic"][i] += 1
            elif e["kind"] in ENGAGEMENTS:
                row["excluded"][REASONS.index(why)] += 1
    return {"reason": reason, "rows": rows, "rings": rings_at, "late": late, "pasted": pasted,
            "bots": set().union(*bots_at.values()) if bots_at else set(),
            "members": {m for rs in rings_at.values() for r in rs for m in r["members"]}}


def pods(early_events: list[dict[str, Any]], b: int, bots_at: dict[int, set[str]]) -> list[dict]:
    end = (b + 1) * BUCKET
    excluded = set().union(*(bots_at.get(bb, set()) for bb in range(b - 35, b + 1)))
    early: dict[str, dict[str, str]] = defaultdict(dict)  # account -> media -> creator
    hours: dict[str, set[int]] = defaultdict(set)
    for e in early_events:
        if end - 3 * 24 * HOUR <= e["ts"] < end:
            early[e["actor_id"]][e["media_id"]] = e["creator_id"]
            hours[e["actor_id"]].add(e["published"] // HOUR)
    candidates = {a: m for a, m in early.items() if a not in excluded
                  and len(m) >= 3 and len(set(m.values())) >= 3 and len(hours[a]) >= 3}
    names = sorted(candidates)
    links = defaultdict(set)
    for i, a in enumerate(names):
        for c in names[i + 1:]:
            shared = len(set(candidates[a]) & set(candidates[c]))
            if shared >= 3 and shared >= 0.5 * len(candidates[a]) \
                    and shared >= 0.5 * len(candidates[c]):
                links[a].add(c)
                links[c].add(a)
    seen: set[str] = set()
    rings = []
    for a in names:
        if a in seen:
            continue
        group, todo = set(), [a]
        while todo:
            x = todo.pop()
            if x not in group:
                group.add(x)
                todo.extend(links[x])
        seen |= group
        if len(group) >= 3:
            per_creator = defaultdict(set)
            for m in group:
                for creator in candidates[m].values():
                    per_creator[creator].add(m)
            rings.append({"members": group,
                          "targets": {c for c, who in per_creator.items() if len(who) >= 2}})
    return rings


def campaign_of(e: dict[str, Any], campaigns: dict[str, dict[str, Any]]) -> str:
    c = campaigns.get(e.get("campaign_id") or "")
    if c is None or not ms(c["starts_at"]) <= e["ts"] < ms(c["ends_at"]):
        return ""
    if e["creator_id"] not in {x["creator_id"] for x in c["creators"]}:
        return ""
    return c["campaign_id"]


def campaign_figures(rows: dict, campaign: dict[str, Any], followers: dict[str, int],
                     rates: dict[str, Decimal]) -> dict[str, dict[str, Any]]:
    """To date per creator and for the campaign (''), from the README's formulas."""
    def cent(x: Decimal) -> Decimal:
        return x.quantize(Decimal("0.01"), "ROUND_HALF_UP")

    out: dict[str, dict[str, Any]] = {}
    for c in campaign["creators"]:
        mine = [r for (_, creator, _, camp), r in rows.items()
                if camp == campaign["campaign_id"] and creator == c["creator_id"]]
        if not mine:
            continue
        raw = [sum(r["raw"][i] for r in mine) for i in range(6)]
        auth = [sum(r["authentic"][i] for r in mine) for i in range(6)]
        excl = [sum(r["excluded"][i] for r in mine) for i in range(4)]
        out[c["creator_id"]] = figures(raw, auth, excl, cent(Decimal(str(c["fee"]))),
                                       followers.get(c["creator_id"]), rates, cent)
    if out:
        raw = [0] * 6
        auth = [0] * 6
        excl = [0] * 4
        for (_, _, _, camp), r in rows.items():
            if camp == campaign["campaign_id"]:
                raw = [x + y for x, y in zip(raw, r["raw"], strict=True)]
                auth = [x + y for x, y in zip(auth, r["authentic"], strict=True)]
                excl = [x + y for x, y in zip(excl, r["excluded"], strict=True)]
        cost = sum(cent(Decimal(str(c["fee"]))) for c in campaign["creators"])
        known = [followers[c["creator_id"]] for c in campaign["creators"]
                 if c["creator_id"] in followers]
        whole = figures(raw, auth, excl, cost, sum(known) if known else None, rates, cent)
        whole["emv"] = sum(f["emv"] for f in out.values())
        whole["authentic_emv"] = sum(f["authentic_emv"] for f in out.values())
        out[""] = whole
    return out


def figures(raw, auth, excl, cost, followers, rates, cent) -> dict[str, Any]:
    interactions = sum(raw[:4])
    authentic = sum(auth[:4])
    return {
        "interactions": interactions, "authentic_interactions": authentic,
        "engagement_rate": interactions / followers if followers else None,
        "authentic_engagement_rate": authentic / followers if followers else None,
        "emv": cent(sum(Decimal(n) * rates[k]
                        for n, k in zip(raw, EMV_KINDS, strict=True))),
        "authentic_emv": cent(sum(Decimal(n) * rates[k]
                                  for n, k in zip(auth, EMV_KINDS, strict=True))),
        "cpe": cent(cost / interactions) if interactions else None,
        "authentic_cpe": cent(cost / authentic) if authentic else None,
        "pod_share": excl[3] / interactions if interactions else None,
        "bot_share": sum(excl[:3]) / interactions if interactions else None,
    }
