"""An independent, deliberately plain recount of campaign KPIs and contests from raw lines.

Written from the README's contract, not from the stream core: it shares no code with it.
Interactions are accepted as the README says: a repeated (creator_id, event_id) counts
once, and one older than the creator's newest accepted interaction minus the allowed
lateness is late and does not count.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

EMV_KINDS = ("like", "comment", "save", "share", "story_view", "reel_play")


def ms(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def cent(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), ROUND_HALF_UP)


def envelopes(lines: list[str], topic: str) -> list[dict]:
    out = []
    for line in lines:
        e = json.loads(line)
        if e["topic"] == topic:
            out.append(e["value"])
    return out


def accepted_interactions(lines: list[str], lateness_ms: int = 600_000) -> list[dict]:
    """The README's clock rule: an interaction claims the least of its time and its
    creator's clock, the median of the creator's last five interaction times (none before
    five; these files' events are all behind their records' clocks, published now). It is
    late when older than its creator's newest claim less the lateness."""
    newest: dict[str, int] = {}
    recent: dict[str, list[int]] = defaultdict(list)
    seen = set()
    out = []
    for v in envelopes(lines, "ig.interactions"):
        ts = ms(v["occurred_at"])
        c = v["creator_id"]
        times = recent[c]
        creator_clock = sorted(times)[2] if len(times) == 5 else None
        times.append(ts)
        del times[:-5]
        if c in newest and ts < newest[c] - lateness_ms:
            continue
        if (c, v["event_id"]) in seen:
            continue
        seen.add((c, v["event_id"]))
        if creator_clock is not None:
            newest[c] = max(newest.get(c, -1), min(ts, creator_clock))
        out.append(dict(v, ts=ts))
    return out


def campaign_kpis(campaigns: list[dict], events: list[dict]) -> dict[tuple[str, str], dict]:
    """To date, per (campaign, creator) and per (campaign, '')."""
    out = {}
    for c in campaigns:
        start, end = ms(c["starts_at"]), ms(c["ends_at"])
        rates = {k: Decimal(str(v)) for k, v in c["emv_rates"].items()}
        # every listed fee, summed exactly and rounded once (the README's money rule)
        total = {"emv": Decimal(0), "interactions": 0, "reach": 0,
                 "cost": cent(sum((Decimal(str(x["fee"])) for x in c["creators"]),
                                  Decimal(0)))}
        for creator in c["creators"]:
            mine = [e for e in events if e["campaign_id"] == c["campaign_id"]
                    and e["creator_id"] == creator["creator_id"] and start <= e["ts"] < end]
            if not mine:
                continue
            counts = {k: sum(1 for e in mine if e["kind"] == k) for k in EMV_KINDS}
            emv = cent(sum((counts[k] * rates[k] for k in EMV_KINDS), Decimal(0)))
            interactions = sum(counts[k] for k in ("like", "comment", "save", "share"))
            reach = len({e["actor_id"] for e in mine if e["kind"] in ("story_view", "reel_play")})
            cost = cent(Decimal(str(creator["fee"])))
            out[(c["campaign_id"], creator["creator_id"])] = {
                **counts, "interactions": interactions, "reach": reach, "emv": emv,
                "cost": cost, **ratios(emv, cost, interactions, reach)}
            total["emv"] += emv
            total["interactions"] += interactions
            total["reach"] += reach
        out[(c["campaign_id"], "")] = {**total, **ratios(
            total["emv"], total["cost"], total["interactions"], total["reach"])}
    return out


def ratios(emv: Decimal, cost: Decimal, interactions: int, reach: int) -> dict:
    return {
        "cpe": cent(cost / interactions) if interactions else None,
        "cpm": cent(cost * 1000 / reach) if reach else None,
        "roi": (emv / cost).quantize(Decimal("0.0001"), ROUND_HALF_UP) if cost else None,
    }


def contest_performance(contest: dict, events: list[dict]) -> dict:
    """The README's rules, one reason per entry, for a contest that has ended."""
    start, end = ms(contest["starts_at"]), ms(contest["ends_at"])
    rules = contest["rules"]
    tags = {t.lstrip("#").lower() for t in rules.get("required_hashtags", [])}
    on_media = [e for e in events if e["media_id"] == contest["media_id"]
                and e["creator_id"] == contest["creator_id"]]
    likes = {e["actor_id"] for e in on_media if e["kind"] == "like" and e["ts"] < end}
    comments = sorted((e for e in on_media if e["kind"] == "comment"),
                      key=lambda e: (e["ts"], e["event_id"]))
    result = defaultdict(int)
    entered = set()
    entrants = set()
    for e in comments:
        text = e.get("text") or ""
        who = e["actor_id"]
        mentions = {m.rstrip(".").lower() for m in re.findall(r"@([A-Za-z0-9._]+)", text)}
        mentions -= {contest["creator_id"].lower(), who.lower()}
        hashtags = {h.lower() for h in re.findall(r"#(\w+)", text)}
        if start <= e["ts"] < end and who != contest["creator_id"]:
            entrants.add(who)
        if e["ts"] < start:
            reason = "before_start"
        elif e["ts"] >= end:
            reason = "after_end"
        elif who == contest["creator_id"]:
            reason = "own_account"
        elif len(mentions) < rules.get("min_mentions", 0):
            reason = "too_few_mentions"
        elif not tags <= hashtags:
            reason = "missing_hashtag"
        elif rules.get("must_like") and who not in likes:
            reason = "no_like"
        elif rules.get("one_entry_per_account", True) and who in entered:
            reason = "repeat_entrant"
        else:
            reason = "valid"
            entered.add(who)
        result[reason] += 1
    result["entries"] = len(comments)
    result["unique_entrants"] = len(entrants)
    return dict(result)
