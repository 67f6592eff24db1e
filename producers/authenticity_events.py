"""Inauthentic engagement for the simulator, with its ground truth (off by default).

With ``CampaignSimulator(..., inauthenticity=Inauthenticity())`` the simulator also runs:

* **engagement pods**: groups of creators (and a few alternate accounts) who like, and
  often comment on, each other's feed posts and reels within 30 s to 8 min of
  publication; pod creators post about four times a day (pods demand it);
* **copy-paste bots**: accounts that paste one of their farm's spam texts (with a
  trailing emoji or punctuation changed) on random live posts, and on every post of the
  farm's client creators;
* **burst bots**: 6–10 accounts posting generic one-phrase or emoji comments on one post
  within 30 s;
* **like bots**: accounts liking 40–60 posts of many creators an hour;
* **superfans** (authentic, the noise a detector must leave alone): accounts following
  4–10 creators, engaging on a third of their posts, a third of those within minutes;
* **follower samples** on ``ig.follower_samples``: per creator, profiles drawn from the
  InstaFake-fitted generator (``follower_profiles.json``: per class and per profile
  picture and private cell, a normal on the log counts), with a true fake share of
  2–15 % (bought audiences: 30–60 % for one creator in five).

Organic comments then get varied text (generic phrases, or unrelated sentences from a
word list) instead of the constant one. Everything here draws from its own random stream,
so the rest of the simulation stays as it was; ``truth`` says who is what.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from campaignpulse.streams.contract import INTERACTIONS_TOPIC
from campaignpulse.streams.contract_authenticity import FOLLOWER_SAMPLES_TOPIC
from campaignpulse.streams.timestamps import format_timestamp_ms

if TYPE_CHECKING:
    from campaignpulse.producers.simulator import CampaignSimulator, Envelope

MIN_MS = 60_000
HOUR_MS = 60 * MIN_MS
DAY_MS = 24 * HOUR_MS

GENERIC = ("love this!", "so cute 😍", "🔥🔥", "wow", "amazing", "❤️", "beautiful!",
           "yes!!", "goals", "need this", "😂😂", "gorgeous 😍", "so good", "perfect",
           "obsessed", "👏👏👏", "stunning", "nice pic")
BURST = ("🔥🔥🔥", "nice pic", "❤️❤️", "wow!!", "amazing", "😍😍", "cool", "great post")
SPAM = (
    ("Wow amazing content! DM @growth_hub_ig to collab and grow your page",
     "Love your feed!! Send us a DM for a paid promo on @viralpromo_page",
     "This deserves more reach, promote it on @boost_daily_ig today"),
    ("Hey dear, your pictures are so beautiful, check my profile for free gifts",
     "Earn money from home like me, link in my bio, you will thank me later",
     "Big fan of your style! Are you open to a brand ambassador deal? DM us"),
)
SPAM_TAILS = ("", " 🔥", " 💯", "!!", " 😍", " ✨")
WORDS = (
    "morning coffee light window blue jacket trail dinner garden sunset puppy recipe "
    "lemon bread market river camera lens summer winter boots scarf playlist concert "
    "city tram bridge museum painting studio yoga mat smoothie mango basil tomato pasta "
    "sister brother grandma weekend holiday beach island cabin forest moss stone candle "
    "linen cotton denim vintage thrift shop bakery croissant tea matcha ceramic vase "
    "flowers tulips peonies balcony neighbour bicycle helmet marathon training knee "
    "stretch hike lake mountain snow ski lodge soup curry spice noodle dumpling kitchen "
    "oven timer notebook pencil sketch colour palette texture fabric stitch pattern "
    "wonder honest curious gentle bright quiet cozy messy tiny huge golden silver"
).split()


@dataclass(frozen=True)
class Inauthenticity:
    """What to inject; counts are accounts, rates per simulated hour."""

    pods: int = 2
    pod_creators: int = 8
    pod_alts: int = 2
    pod_posts_per_day: float = 4.0
    pod_participation: float = 0.85
    copy_farms: int = 2
    copy_bots_per_farm: int = 15
    copy_comments_per_bot_hour: float = 2.0
    copy_clients_per_farm: int = 3
    burst_bots: int = 30
    bursts_per_hour: float = 6.0
    like_bots: int = 15
    like_bot_likes_per_hour: tuple[int, int] = (40, 60)
    superfans: int = 150
    follower_sample: int = 150
    bought_audience_share: float = 0.2
    #: share of organic comments that are generic phrases
    organic_generic: float = 0.6


@dataclass
class Truth:
    """Ground truth: who is what, and which events were injected."""

    #: pod name -> its member accounts (creator accounts and alternates)
    rings: dict[str, set[str]] = field(default_factory=dict)
    #: pod name -> its creators
    ring_creators: dict[str, set[str]] = field(default_factory=dict)
    #: bot account -> "copy_paste" | "burst" | "like"; only accounts with an event sent
    bots: dict[str, str] = field(default_factory=dict)
    superfans: set[str] = field(default_factory=set)
    #: creator -> true fake share of its audience, and the sample's fakes / size
    fake_share: dict[str, float] = field(default_factory=dict)
    sampled: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: event id -> what injected it ("pod", "copy_paste", "burst", "like_bot", "superfan"),
    #: for the events sent so far
    events: dict[str, str] = field(default_factory=dict)

    def ring_members(self) -> set[str]:
        return set().union(*self.rings.values()) if self.rings else set()


@dataclass
class _Fan:
    actor_id: str
    creators: set[str]


class InauthenticActivity:
    def __init__(self, sim: CampaignSimulator, seed: int, config: Inauthenticity) -> None:
        self.sim = sim
        self.config = config
        self.rng = random.Random(seed * 104_729 + 3)  # noqa: S311 - simulation
        self.truth = Truth()
        self._seq = 0
        self._sampled = False
        rng = self.rng
        creators = [c.creator_id for c in sim.creators]
        shuffled = rng.sample(creators, len(creators))
        self.pod_of: dict[str, str] = {}
        for p in range(config.pods):
            mine = shuffled[p * config.pod_creators:(p + 1) * config.pod_creators]
            name = f"pod{p}"
            self.truth.ring_creators[name] = set(mine)
            alts = {f"{name}-alt{i}" for i in range(config.pod_alts)}
            self.truth.rings[name] = set(mine) | alts
            for c in mine:
                self.pod_of[c] = name
        for creator in sim.creators:
            if creator.creator_id in self.pod_of:
                creator.next_post_ms = sim.now_ms + self._pod_gap()
        taken = config.pods * config.pod_creators
        self.clients: dict[int, list[str]] = {
            f: shuffled[taken + f * config.copy_clients_per_farm:
                        taken + (f + 1) * config.copy_clients_per_farm]
            for f in range(config.copy_farms)}
        self.fans = [_Fan(f"fan-{i}", set(rng.sample(creators, min(len(creators),
                                                                   rng.randint(4, 10)))))
                     for i in range(config.superfans)]
        self.truth.superfans = {f.actor_id for f in self.fans}
        self._fans_of: dict[str, list[_Fan]] = {}
        for fan in self.fans:
            for c in fan.creators:
                self._fans_of.setdefault(c, []).append(fan)
        self._pending: list[tuple[int, Envelope]] = []
        self._made: dict[str, str] = {}  # event id -> what, until it is sent
        profiles = json.loads(files("campaignpulse.producers")
                              .joinpath("follower_profiles.json").read_text())
        self._profiles = {k: _ProfileGenerator(profiles[k]) for k in ("fake", "real")}

    def _pod_gap(self) -> int:
        return int(self.rng.expovariate(self.config.pod_posts_per_day) * DAY_MS) + 30 * MIN_MS

    # -- text ----------------------------------------------------------------------------

    def organic_text(self) -> str:
        rng = self.rng
        if rng.random() < self.config.organic_generic:
            return rng.choice(GENERIC)
        return " ".join(rng.sample(WORDS, rng.randint(5, 11)))

    # -- the step ------------------------------------------------------------------------

    def step(self, start: int, end: int, published: list[tuple[int, Envelope]],
             ) -> list[tuple[int, Envelope]]:
        out: list[tuple[int, Envelope]] = []
        if not self._sampled:
            self._sampled = True
            out.extend(self._follower_samples(start))
        for at, envelope in published:
            value = envelope.value
            if not isinstance(value, dict) or value.get("media_product_type") == "STORY":
                continue
            if "published_at" not in value:
                continue
            self._on_post(at, value)
        due = [(t, e) for t, e in self._pending if t < end]
        self._pending = [(t, e) for t, e in self._pending if t >= end]
        out.extend(due)
        live = [(c.creator_id, m) for c in self.sim.creators for m in c.live
                if m.product_type != "STORY"]
        if live:
            self._copy_bots(start, end, live, out)
            self._bursts(start, end, live, out)
            self._like_bots(start, end, live, out)
        self._record(out)
        return out

    def _record(self, sent: list[tuple[int, Envelope]]) -> None:
        """The truth of the events sent (not of those still scheduled)."""
        for _, envelope in sent:
            value = envelope.value
            if not isinstance(value, dict):
                continue
            what = self._made.pop(value.get("event_id", ""), None)
            if what is None:
                continue
            self.truth.events[value["event_id"]] = what
            if what in ("copy_paste", "burst", "like_bot"):
                self.truth.bots[value["actor_id"]] = "like" if what == "like_bot" else what

    def _on_post(self, at: int, media: dict[str, Any]) -> None:
        creator_id = media["creator_id"]
        rng = self.rng
        pod = self.pod_of.get(creator_id)
        if pod is not None:
            for member in sorted(self.truth.rings[pod] - {creator_id}):
                if rng.random() >= self.config.pod_participation:
                    continue
                t = at + int(rng.uniform(0.5, 8) * MIN_MS)
                self._later(t, media, "like", member, None, "pod")
                if rng.random() < 0.5:
                    self._later(t + int(rng.uniform(5, 90) * 1000), media, "comment", member,
                                self.organic_text(), "pod")
            for c in self.sim.creators:
                if c.creator_id == creator_id:
                    c.next_post_ms = at + self._pod_gap()
        for farm, clients in self.clients.items():
            if creator_id in clients:
                for i in range(self.config.copy_bots_per_farm):
                    bot = f"cpb{farm}-{i}"
                    t = at + int(rng.uniform(1, 30) * MIN_MS)
                    self._later(t, media, "comment", bot, self._spam(farm), "copy_paste")
                    self._later(t + 2000, media, "like", bot, None, "copy_paste")
        for fan in self._fans_of.get(creator_id, ()):
            if rng.random() < 1 / 3:
                soon = rng.random() < 1 / 3
                delay = rng.uniform(0.5, 9) * MIN_MS if soon else rng.expovariate(1 / (6 * HOUR_MS))
                t = at + int(delay)
                self._later(t, media, "like", fan.actor_id, None, "superfan")
                if rng.random() < 0.3:
                    self._later(t + 20_000, media, "comment", fan.actor_id, self.organic_text(),
                                "superfan")

    def _spam(self, farm: int) -> str:
        text = self.rng.choice(SPAM[farm % len(SPAM)]) + self.rng.choice(SPAM_TAILS)
        return text.upper() if self.rng.random() < 0.1 else text

    def _copy_bots(self, start: int, end: int, live: list[tuple[str, Any]],
                   out: list[tuple[int, Envelope]]) -> None:
        c = self.config
        share = c.copy_comments_per_bot_hour * (end - start) / HOUR_MS
        for farm in range(c.copy_farms):
            for i in range(c.copy_bots_per_farm):
                if self.rng.random() < share:
                    creator_id, media = self.rng.choice(live)
                    t = max(media.published_ms, self.rng.randrange(start, end))
                    value = self._media_value(creator_id, media)
                    out.append(self._interaction(t, value, "comment", f"cpb{farm}-{i}",
                                                 self._spam(farm), "copy_paste"))

    def _bursts(self, start: int, end: int, live: list[tuple[str, Any]],
                out: list[tuple[int, Envelope]]) -> None:
        rng = self.rng
        if rng.random() >= self.config.bursts_per_hour * (end - start) / HOUR_MS:
            return
        creator_id, media = rng.choice(live)
        value = self._media_value(creator_id, media)
        t = max(media.published_ms, rng.randrange(start, end))
        out.extend(self._interaction(t + rng.randrange(30_000), value, "comment", f"bsb-{b}",
                                     rng.choice(BURST), "burst")
                   for b in rng.sample(range(self.config.burst_bots), rng.randint(6, 10)))

    def _like_bots(self, start: int, end: int, live: list[tuple[str, Any]],
                   out: list[tuple[int, Envelope]]) -> None:
        rng = self.rng
        low, high = self.config.like_bot_likes_per_hour
        for b in range(self.config.like_bots):
            rate = (low + (high - low) * (b % 5) / 4) * (end - start) / HOUR_MS
            for _ in range(_poisson(rng, rate)):
                creator_id, media = rng.choice(live)
                out.append(self._interaction(max(media.published_ms, rng.randrange(start, end)),
                                             self._media_value(creator_id, media), "like",
                                             f"lkb-{b}", None, "like_bot"))

    # -- events --------------------------------------------------------------------------

    @staticmethod
    def _media_value(creator_id: str, media: Any) -> dict[str, Any]:
        return {"creator_id": creator_id, "media_id": media.media_id,
                "campaign_id": media.campaign_id}

    def _later(self, at: int, media: dict[str, Any], kind: str, actor: str, text: str | None,
               what: str) -> None:
        self._pending.append(self._interaction(at, media, kind, actor, text, what))

    def _interaction(self, at: int, media: dict[str, Any], kind: str, actor: str,
                     text: str | None, what: str) -> tuple[int, Envelope]:
        from campaignpulse.producers.simulator import Envelope

        self._seq += 1
        event_id = f"au-{self._seq:010d}"
        self._made[event_id] = what
        return at, Envelope(INTERACTIONS_TOPIC, {
            "event_id": event_id, "creator_id": media["creator_id"],
            "media_id": media["media_id"], "campaign_id": media["campaign_id"], "kind": kind,
            "actor_id": actor, "occurred_at": format_timestamp_ms(at), "text": text,
        })

    def _follower_samples(self, at: int) -> list[tuple[int, Envelope]]:
        from campaignpulse.producers.simulator import Envelope

        rng = self.rng
        out = []
        for creator in self.sim.creators:
            cid = creator.creator_id
            bought = rng.random() < self.config.bought_audience_share
            share = rng.uniform(0.3, 0.6) if bought else rng.uniform(0.02, 0.15)
            self.truth.fake_share[cid] = share
            fakes = 0
            for i in range(self.config.follower_sample):
                fake = rng.random() < share
                fakes += fake
                profile = self._profiles["fake" if fake else "real"].draw(rng)
                out.append((at, Envelope(FOLLOWER_SAMPLES_TOPIC, {
                    "creator_id": cid, "follower_id": f"{cid}-s{i}",
                    "observed_at": format_timestamp_ms(at), **profile})))
            self.truth.sampled[cid] = (fakes, self.config.follower_sample)
        return out


class _ProfileGenerator:
    """Per (profile picture, private) cell: a normal on (log1p followers, log1p follows,
    log1p posts); the cell is drawn by its share."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.cells = params["cells"]
        self.weights = [c["share"] for c in self.cells]
        self.chol = [_cholesky(c["log1p_cov"]) for c in self.cells]

    def draw(self, rng: random.Random) -> dict[str, Any]:
        i = rng.choices(range(len(self.cells)), self.weights)[0]
        cell, chol = self.cells[i], self.chol[i]
        z = [rng.gauss(0, 1) for _ in range(3)]
        x = [m + sum(chol[r][j] * z[j] for j in range(3))
             for r, m in enumerate(cell["log1p_mean"])]
        followers, follows, posts = (max(0, round(math.expm1(max(0.0, v)))) for v in x)
        p = self.params
        return {
            "followers_count": followers, "follows_count": follows, "media_count": posts,
            "has_profile_picture": cell["has_profile_picture"], "is_private": cell["private"],
            "biography_length": 0 if rng.random() < p["no_biography"] else rng.randint(1, 150),
            "username_digit_count": min(30, _poisson(rng, p["username_digits_mean"])),
        }


def _cholesky(cov: list[list[float]]) -> tuple[tuple[float, float, float], ...]:
    l00 = math.sqrt(cov[0][0])
    l10 = cov[1][0] / l00
    l20 = cov[2][0] / l00
    l11 = math.sqrt(cov[1][1] - l10 * l10)
    l21 = (cov[2][1] - l20 * l10) / l11
    l22 = math.sqrt(max(1e-12, cov[2][2] - l20 * l20 - l21 * l21))
    return ((l00, 0.0, 0.0), (l10, l11, 0.0), (l20, l21, l22))


def _poisson(rng: random.Random, lam: float) -> int:
    from campaignpulse.producers.simulator import poisson

    return poisson(rng, lam)
