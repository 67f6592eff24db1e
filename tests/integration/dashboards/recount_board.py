"""What each board panel should show, recounted from the raw events in plain Python.

Shares no code with the stream core or the board's SQL: engagement comes from the naive
recount (``tests/recount.py``), campaign rules from the README (``tests/recount_campaigns``).
The definitions the panels document, in Python:

* an hourly panel covers the hours that overlap the range (the one that began before it
  too); a bucket of ``interval`` seconds holds the hours that start in it;
* a creator's followers at an hour: the latest snapshot observed in the 24 hours before
  the hour ended (none: the hour does not count toward a rate);
* top-N: the 20 creators with the most interactions in the range (ties by key), the rest
  summed as "other"; the 20 posts with the busiest hour in the range.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.recount import recount, to_ms
from tests.recount_campaigns import EMV_KINDS, accepted_interactions, cent

HOUR_S = 3600
TOP_N = 20
RATES = Path(__file__).resolve().parents[3] / "streams" / "campaigns" / "emv_rates.json"


class Board:
    """The raw events of a seeded run, ready to be recounted per panel."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        values = [json.loads(line) for line in lines]
        self.snapshots: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.media: dict[str, dict[str, Any]] = {}
        self.campaigns: list[dict[str, Any]] = []
        self.contests: list[dict[str, Any]] = []
        for e in values:
            v = e["value"]
            if e["topic"] == "ig.followers":
                self.snapshots[v["creator_id"]].append((to_ms(v["observed_at"]),
                                                        v["followers_count"]))
            elif e["topic"] == "ig.media":
                self.media[v["media_id"]] = v
            elif e["topic"] == "ig.campaigns":
                self.campaigns.append(v)
            elif e["topic"] == "ig.contests":
                self.contests.append(v)
        for history in self.snapshots.values():
            history.sort(key=lambda s: s[0])
        self.hours = recount(lines)["engagement_hour"]

    # -- engagement ------------------------------------------------------------------
    def level(self, creator: str, hour_s: int) -> int:
        end_ms = (hour_s + HOUR_S) * 1000
        seen = [n for at, n in self.snapshots.get(creator, [])
                if end_ms - 86_400_000 <= at < end_ms]
        return seen[-1] if seen else 0

    def hour_rows(self, from_s: int, to_s: int, media: bool) -> Iterable[tuple[tuple, dict]]:
        first = from_s // HOUR_S * HOUR_S
        for key, row in self.hours.items():
            if first <= key[0] <= to_s and (key[3] != "") == media:
                yield key, row

    def rates(self, from_s: int, to_s: int, interval_s: int, label: Any,
              media: bool = False) -> dict[tuple[int, str], float | None]:
        """(bucket, label(key)) -> interactions ÷ followers over hours with followers."""
        num: dict[tuple[int, str], int] = defaultdict(int)
        den: dict[tuple[int, str], int] = defaultdict(int)
        for key, row in self.hour_rows(from_s, to_s, media):
            cell = (key[0] // interval_s * interval_s, label(key))
            followers = self.level(key[2], key[0])
            den[cell] += followers
            if followers:
                num[cell] += row["interactions"]
        return {cell: num[cell] / den[cell] if den[cell] else None for cell in den}

    def top(self, from_s: int, to_s: int) -> list[str]:
        """The 20 creators with the most interactions in the range."""
        total: dict[str, int] = defaultdict(int)
        for key, row in self.hour_rows(from_s, to_s, media=False):
            total[key[2]] += row["interactions"]
        return sorted(total, key=lambda k: (-total[k], k))[:TOP_N]

    def top_posts(self, from_s: int, to_s: int) -> list[str]:
        """The 20 posts with the busiest hour (most interactions) in the range."""
        peak: dict[str, int] = defaultdict(int)
        for key, row in self.hour_rows(from_s, to_s, media=True):
            peak[key[3]] = max(peak[key[3]], row["interactions"])
        return sorted(peak, key=lambda k: (-peak[k], k))[:TOP_N]

    def top_creators(self, from_s: int, to_s: int) -> list[tuple[str, int, int]]:
        """(creator, interactions, latest followers) by rate, the panel's 20."""
        total: dict[str, int] = defaultdict(int)
        for key, row in self.hour_rows(from_s, to_s, media=False):
            total[key[2]] += row["interactions"]
        last_hour = to_s // HOUR_S * HOUR_S
        rows = [(c, n, self.level(c, last_hour)) for c, n in total.items()]
        rows = [r for r in rows if r[2] > 0]
        return sorted(rows, key=lambda r: (-r[1] / r[2], r[0]))[:TOP_N]

    def followers(self, from_s: int, to_s: int, interval_s: int) -> dict[tuple[int, str], float]:
        """(bucket, creator or "other") -> followers: the sum of each hour's latest snapshots,
        averaged over the hours of the bucket that have one; the top 20 by growth over the
        range (latest minus earliest level) on their own."""
        first = from_s // HOUR_S * HOUR_S
        latest: dict[tuple[str, int], tuple[int, int]] = {}
        for creator, history in self.snapshots.items():
            for at, n in history:
                hour = at // 1000 // HOUR_S * HOUR_S
                if first <= hour <= to_s:
                    latest[(creator, hour)] = (at, n)
        series: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for (creator, hour), (_, n) in sorted(latest.items()):
            series[creator].append((hour, n))
        growth = {c: s[-1][1] - s[0][1] for c, s in series.items()}
        top = set(sorted(growth, key=lambda c: (-growth[c], c))[:TOP_N])
        total: dict[tuple[int, str], int] = defaultdict(int)
        hours: dict[tuple[int, str], set[int]] = defaultdict(set)
        for creator, points in series.items():
            for hour, n in points:
                cell = (hour // interval_s * interval_s, creator if creator in top else "other")
                total[cell] += n
                hours[cell].add(hour)
        return {cell: total[cell] / len(hours[cell]) for cell in total}

    # -- campaigns -------------------------------------------------------------------
    @staticmethod
    def campaign_rates(campaign: dict[str, Any]) -> dict[str, str]:
        """The README's default EMV table, overridden where the campaign sets a rate."""
        return {**json.loads(RATES.read_text())["rates"], **campaign.get("emv_rates", {})}

    def events(self) -> list[dict[str, Any]]:
        return accepted_interactions(self.lines)

    def campaign_hours(self) -> dict[tuple[str, str, int], dict[str, Any]]:
        """(campaign, creator, hour) -> counts, reach, EMV and cost of the hour."""
        events = self.events()
        out: dict[tuple[str, str, int], dict[str, Any]] = {}
        for c in self.campaigns:
            start, end = to_ms(c["starts_at"]), to_ms(c["ends_at"])
            rates = {k: Decimal(v) for k, v in self.campaign_rates(c).items()}
            fees = {x["creator_id"]: Decimal(x["fee"]) for x in c["creators"]}
            grouped: dict[tuple[str, int], list[dict]] = defaultdict(list)
            for e in events:
                if (e["campaign_id"] == c["campaign_id"] and e["creator_id"] in fees
                        and start <= e["ts"] < end):
                    grouped[(e["creator_id"], e["ts"] // 1000 // HOUR_S * HOUR_S)].append(e)
            for (creator, hour), mine in grouped.items():
                counts = {k: sum(1 for e in mine if e["kind"] == k) for k in EMV_KINDS}
                overlap = min(end, (hour + HOUR_S) * 1000) - max(start, hour * 1000)
                out[(c["campaign_id"], creator, hour)] = {
                    "interactions": sum(counts[k] for k in ("like", "comment", "save", "share")),
                    "reach": len({e["actor_id"] for e in mine
                                  if e["kind"] in ("story_view", "reel_play")}),
                    "emv": cent(sum((counts[k] * rates[k] for k in EMV_KINDS), Decimal(0))),
                    "cost": cent(fees[creator] * overlap / (end - start)),
                }
        return out

    def kpis_in_range(self, from_s: int, to_s: int) -> dict[str, dict[str, Any]]:
        first = from_s // HOUR_S * HOUR_S
        out: dict[str, dict[str, Any]] = {}
        for (campaign, _, hour), row in self.campaign_hours().items():
            if first <= hour <= to_s:
                total = out.setdefault(campaign, {"interactions": 0, "reach": 0,
                                                  "emv": Decimal(0), "cost": Decimal(0)})
                for k in total:
                    total[k] += row[k]
        return out

    def emv_per_hour(self, from_s: int, to_s: int,
                     interval_s: int) -> dict[tuple[int, str], Decimal]:
        first = from_s // HOUR_S * HOUR_S
        out: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for (campaign, _, hour), row in self.campaign_hours().items():
            if first <= hour <= to_s:
                out[(hour // interval_s * interval_s, campaign)] += row["emv"]
        return dict(out)

    def follower_count_at(self, creator: str, at_ms: int) -> int | None:
        seen = [n for t, n in self.snapshots.get(creator, []) if t <= at_ms]
        return seen[-1] if seen else None
