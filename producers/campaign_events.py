"""Campaign definitions and contest activations for the simulator.

Each simulated campaign gets a definition on ``ig.campaigns``: its creators with a fee of
``FEE_PER_1K_FOLLOWERS`` per thousand followers (micro-influencer rate-card order of
magnitude, a stated assumption), the default EMV table except where a campaign sets its
own, and the default disclosure rules. (The simulator already posts about one in five
campaign posts without ``#ad`` or the paid-partnership label.) A few campaign creators run
a giveaway: a contest media, entries that follow the rules and entries that break each
of them, likes before and after commenting, bursts of identical bot comments mentioning
one account, and the new followers real entrants bring.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any

from campaignpulse.streams.contract import INTERACTIONS_TOPIC, MEDIA_TOPIC
from campaignpulse.streams.contract_campaigns import CAMPAIGNS_TOPIC, CONTESTS_TOPIC
from campaignpulse.streams.timestamps import format_timestamp_ms

if TYPE_CHECKING:
    from campaignpulse.producers.simulator import CampaignSimulator, Envelope

MIN_MS = 60_000
HOUR_MS = 60 * MIN_MS
FEE_PER_1K_FOLLOWERS = 10  # money per post per 1k followers; three posts per campaign
CAMPAIGN_DAYS = 3
CONTEST_START_MS = 5 * MIN_MS  # into the simulation
CONTEST_MS = 2 * HOUR_MS
ENTRIES_PER_MINUTE = 6.0
FOLLOW_PER_VALID_ENTRY = 0.7
BOT_BURST_EVERY_MS = 20 * MIN_MS
PHRASES = ("pick me!", "love this", "would be amazing", "fingers crossed", "yes please")


class CampaignActivity:
    """Deterministic for a seed; has its own random stream, so the events the simulator
    makes without it stay the same."""

    def __init__(self, sim: CampaignSimulator, seed: int, contests: int = 3) -> None:
        self.sim = sim
        self.rng = random.Random(seed * 7919 + 1)  # noqa: S311 - simulation, not secrecy
        self.start_ms = sim.now_ms
        by_campaign: dict[str, list[Any]] = {}
        for creator in sim.creators:
            if creator.campaign_id:
                by_campaign.setdefault(creator.campaign_id, []).append(creator)
        self.campaigns = by_campaign
        hosts = [c for members in by_campaign.values() for c in members[:1]][:contests]
        self.contests = [self._contest(host, i) for i, host in enumerate(hosts)]
        self._entrants: dict[str, list[str]] = {c["contest_id"]: [] for c in self.contests}
        self._published: set[str] = set()
        self._next_burst = {c["contest_id"]: c["_starts"] + 5 * MIN_MS
                            for c in self.contests}
        self._seq = 0

    def _contest(self, host: Any, i: int) -> dict[str, Any]:
        starts = self.start_ms + CONTEST_START_MS + i * 5 * MIN_MS
        return {
            "contest_id": f"giveaway-{host.creator_id}", "creator_id": host.creator_id,
            "media_id": f"{host.creator_id}-giveaway", "campaign_id": host.campaign_id,
            "starts_at": format_timestamp_ms(starts),
            "ends_at": format_timestamp_ms(starts + CONTEST_MS),
            "prize_value": "150.00",
            "rules": {"min_mentions": 2, "required_hashtags": ["giveaway"],
                      "one_entry_per_account": True, "must_like": True},
            "_starts": starts, "_host": host,
        }

    def definitions(self) -> list[Envelope]:
        """Campaigns, then contests: what the worker must know before the events."""
        from campaignpulse.producers.simulator import Envelope

        out = []
        for n, (campaign_id, members) in enumerate(sorted(self.campaigns.items())):
            value: dict[str, Any] = {
                "campaign_id": campaign_id, "brand": f"Brand {n + 1}",
                "name": f"Campaign {campaign_id}", "currency": "USD",
                "starts_at": format_timestamp_ms(self.start_ms),
                "ends_at": format_timestamp_ms(self.start_ms + CAMPAIGN_DAYS * 24 * HOUR_MS),
                "creators": [{"creator_id": c.creator_id,
                              "fee": str(3 * FEE_PER_1K_FOLLOWERS * max(1, c.followers // 1000))}
                             for c in members],
            }
            if n == 0:  # one brand values engagement above the default table
                value["emv_rates"] = {"like": "0.12", "comment": "0.80"}
            out.append(Envelope(CAMPAIGNS_TOPIC, value))
        out.extend(Envelope(CONTESTS_TOPIC, {k: v for k, v in c.items() if not k.startswith("_")})
                   for c in self.contests)
        return out

    def step(self, start: int, end: int) -> list[tuple[int, Envelope]]:
        out: list[tuple[int, Envelope]] = []
        for contest in self.contests:
            c_start = contest["_starts"]
            c_end = c_start + CONTEST_MS
            if contest["media_id"] not in self._published and start <= c_start - MIN_MS < end:
                self._published.add(contest["media_id"])
                out.append(self._media(contest, c_start - MIN_MS))
            # entries from 5 minutes before to 10 minutes after: some miss the window
            if end <= c_start - 5 * MIN_MS or start >= c_end + 10 * MIN_MS:
                continue
            n = self._poisson(ENTRIES_PER_MINUTE * (end - start) / MIN_MS)
            for _ in range(n):
                out.extend(self._entry(contest, self.rng.randrange(start, end)))
            if start <= self._next_burst[contest["contest_id"]] < end:
                out.extend(self._bots(contest, self._next_burst[contest["contest_id"]]))
                self._next_burst[contest["contest_id"]] += BOT_BURST_EVERY_MS
        return out

    def _media(self, contest: dict[str, Any], at: int) -> tuple[int, Envelope]:
        from campaignpulse.producers.simulator import Envelope

        return at, Envelope(MEDIA_TOPIC, {
            "media_id": contest["media_id"], "creator_id": contest["creator_id"],
            "campaign_id": contest["campaign_id"], "media_product_type": "FEED",
            "published_at": format_timestamp_ms(at), "paid_partnership": True,
            "caption": "GIVEAWAY! Like this post, tag two friends and add #giveaway to enter.",
        })

    def _interaction(self, contest: dict[str, Any], kind: str, actor: str, at: int,
                     text: str | None = None) -> tuple[int, Envelope]:
        from campaignpulse.producers.simulator import Envelope

        self._seq += 1
        return at, Envelope(INTERACTIONS_TOPIC, {
            "event_id": f"ga-{self._seq:09d}", "creator_id": contest["creator_id"],
            "media_id": contest["media_id"], "campaign_id": contest["campaign_id"],
            "kind": kind, "actor_id": actor, "occurred_at": format_timestamp_ms(at),
            "text": text,
        })

    def _entry(self, contest: dict[str, Any], at: int) -> list[tuple[int, Envelope]]:
        rng = self.rng
        entrants = self._entrants[contest["contest_id"]]
        roll = rng.random()
        who = (rng.choice(entrants) if entrants and roll < 0.06  # repeat entrant
               else f"u{rng.randrange(10_000_000)}")
        friends = [f"@friend{rng.randrange(5_000)}" for _ in range(2)]
        tag = "#giveaway"
        if 0.06 <= roll < 0.14:
            friends = friends[:1]  # too few mentions
        elif 0.14 <= roll < 0.22:
            tag = "#giveaways"  # not the required hashtag
        text = f"{' '.join(friends)} {tag} {rng.choice(PHRASES)}"
        out = [self._interaction(contest, "comment", who, at, text)]
        if roll >= 0.28:  # the rest like the post, some only after commenting
            out.append(self._interaction(contest, "like", who,
                                         at + rng.randrange(-10 * MIN_MS, 5 * MIN_MS)))
            if roll >= 0.22 and rng.random() < FOLLOW_PER_VALID_ENTRY:
                contest["_host"].followers += 1  # entrants follow the host
        entrants.append(who)
        return out

    def _bots(self, contest: dict[str, Any], at: int) -> list[tuple[int, Envelope]]:
        """Six accounts, one text, five seconds: an entry farm tagging one account."""
        return [self._interaction(contest, "comment", f"bot{self.rng.randrange(10**6)}",
                                  at + i * 800, "@prize_hunter @prize_hunter2 #giveaway win!")
                for i in range(6)]

    def _poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, self.rng.random()
        while p > limit:
            k += 1
            p *= self.rng.random()
        return k
