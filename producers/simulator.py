"""A deterministic simulator of live micro-influencer campaigns.

Creators are drawn from follower tiers fitted on real Instagram data
(``calibration.json``); each post, reel or story collects likes, comments, saves,
shares and story events that decay with age and follow the daily rhythm. The same seed
and start time give the same events. Ratios the dataset does not cover (saves, shares,
story reach, reels) are stated below as assumptions.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from campaignpulse.streams.contract import FOLLOWERS_TOPIC, INTERACTIONS_TOPIC, KINDS, MEDIA_TOPIC
from campaignpulse.streams.timestamps import format_timestamp_ms

if TYPE_CHECKING:
    from campaignpulse.producers.authenticity_events import Inauthenticity

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# Assumptions beyond the dataset (industry rules of thumb for accounts under 100k).
SAVES_PER_LIKE = 0.05
SHARES_PER_LIKE = 0.02
REELS_SHARE = 0.3
STORIES_PER_DAY = 2.0
STORY_REACH = 0.05  # share of followers who view a story
STORY_PER_VIEW = {"story_reply": 0.01, "story_tap_forward": 0.4, "story_tap_back": 0.05,
                  "story_exit": 0.08, "like": 0.02}
REEL_PLAYS_PER_FOLLOWER = 0.3
DECAY_MS = {"FEED": 6 * HOUR_MS, "REELS": 12 * HOUR_MS, "STORY": 4 * HOUR_MS}
SNAPSHOT_EVERY_MS = (20_000, 3 * 60_000)  # profile scrapes of campaign creators
_K = {kind: i for i, kind in enumerate(KINDS)}



def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; the normal approximation above 30 (stdlib has no Poisson)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k

@dataclass(frozen=True)
class Envelope:
    """One line of the JSONL format: a topic and a contract value (or raw bytes to corrupt)."""

    topic: str
    value: dict[str, Any] | str

    def to_json(self) -> str:
        return json.dumps({"topic": self.topic, "value": self.value}, separators=(",", ":"))


@dataclass(frozen=True)
class Faults:
    """Bad input to mix in, for tests and the demo: each a probability per interaction."""

    duplicate: float = 0.0
    late: float = 0.0
    malformed: float = 0.0


@dataclass(frozen=True)
class Incidents:
    """Follower jumps to inject: bought packages (round numbers, no engagement, a later
    purge) and innocent viral posts (engagement first, followers with it). Rates are per
    creator per simulated day, starting ``first_after_ms`` into the run so that the
    detectors have a history to compare with."""

    bought_per_day: float = 0.0
    viral_per_day: float = 0.0
    first_after_ms: int = 40 * 60_000


@dataclass
class _Media:
    media_id: str
    campaign_id: str | None
    product_type: str
    published_ms: int
    expected: list[float]


@dataclass
class _Creator:
    creator_id: str
    followers: int
    follows: int
    like_rate: float
    comment_ratio: float
    campaign_id: str | None
    next_post_ms: int
    next_story_ms: int
    next_snapshot_ms: int
    live: list[_Media] = field(default_factory=list)
    posts: int = 0
    next_bought_ms: float = math.inf
    next_viral_ms: float = math.inf
    purge: tuple[int, int] | None = None  # (at ms, followers removed)
    viral_gain: int = 0
    viral_fans_from_ms: int = 0


def load_calibration() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        files("campaignpulse.producers").joinpath("calibration.json").read_text()
    )
    return data


class CampaignSimulator:
    def __init__(
        self,
        seed: int,
        start_ms: int,
        creators: int = 200,
        campaigns: int = 5,
        step_ms: int = 10_000,
        faults: Faults | None = None,
        incidents: Incidents | None = None,
        campaign_activity: bool = False,
        inauthenticity: Inauthenticity | None = None,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - simulation, not secrecy
        self.now_ms = start_ms
        self.step_ms = step_ms
        self.faults = faults or Faults()
        cal = load_calibration()
        self._days_between_posts = float(cal["median_days_between_posts"])
        rhythm = cal["daily_rhythm"]
        mean = sum(rhythm) / len(rhythm)
        self._rhythm = [r / mean for r in rhythm]
        self._event_seq = 0
        campaign_ids = [f"cmp-{i:03d}" for i in range(campaigns)]
        tiers = cal["tiers"]
        names = list(tiers)
        weights = [tiers[n]["share"] for n in names]
        self.creators = []
        for i in range(creators):
            tier = tiers[self.rng.choices(names, weights)[0]]
            followers = int(min(99_999, max(1_000, self._lognormal(tier["followers"]))))
            self.creators.append(
                _Creator(
                    creator_id=f"cr-{i:05d}",
                    followers=followers,
                    follows=int(self.rng.uniform(200, 2_000)),
                    like_rate=min(0.5, self._lognormal(tier["like_rate"])),
                    comment_ratio=min(1.0, self._lognormal(tier["comment_to_like"])),
                    campaign_id=self.rng.choice(campaign_ids) if self.rng.random() < 0.7 else None,
                    next_post_ms=start_ms - int(self.rng.uniform(0, 2 * DAY_MS)),
                    next_story_ms=start_ms + int(self.rng.expovariate(STORIES_PER_DAY) * DAY_MS),
                    next_snapshot_ms=start_ms + int(self.rng.uniform(*SNAPSHOT_EVERY_MS)),
                )
            )

        self.incidents = incidents or Incidents()
        #: (kind, creator id, event time ms) of every injected incident, for evaluation
        self.incident_log: list[tuple[str, str, int]] = []
        for creator in self.creators:
            creator.next_bought_ms = self._next_incident(start_ms, self.incidents.bought_per_day)
            creator.next_viral_ms = self._next_incident(start_ms, self.incidents.viral_per_day)
        from campaignpulse.producers.campaign_events import CampaignActivity

        #: campaign definitions and giveaways (``campaign_events.py``), when asked for
        self.activity = CampaignActivity(self, seed) if campaign_activity else None
        from campaignpulse.producers.authenticity_events import InauthenticActivity

        #: pods, bots, copy-paste comments and follower samples (``authenticity_events.py``)
        self.inauthentic = (InauthenticActivity(self, seed, inauthenticity)
                            if inauthenticity is not None else None)

    def _next_incident(self, after_ms: int, per_day: float) -> float:
        if per_day <= 0:
            return math.inf
        first = after_ms + self.incidents.first_after_ms if after_ms == self.now_ms else after_ms
        return first + self.rng.expovariate(per_day) * DAY_MS

    def _lognormal(self, params: dict[str, float]) -> float:
        return math.exp(self.rng.gauss(params["mu"], params["sigma"]))

    def events(self) -> Iterator[Envelope]:
        """Endless event-time-ordered stream, one simulation step at a time."""
        if self.activity is not None:
            yield from self.activity.definitions()
        while True:
            yield from self.step()

    def step(self) -> list[Envelope]:
        start, end = self.now_ms, self.now_ms + self.step_ms
        out: list[tuple[int, Envelope]] = []
        rhythm = self._rhythm[(start // HOUR_MS) % 24]
        for creator in self.creators:
            if creator.next_post_ms < end:
                out.append(self._publish(creator, max(start, creator.next_post_ms), story=False))
                creator.next_post_ms += int(
                    self.rng.expovariate(1 / self._days_between_posts) * DAY_MS
                ) + HOUR_MS
            if creator.next_story_ms < end:
                out.append(self._publish(creator, creator.next_story_ms, story=True))
                creator.next_story_ms += int(self.rng.expovariate(STORIES_PER_DAY) * DAY_MS) + 1
            if creator.next_viral_ms < end:
                out.append(self._publish(creator, max(start, int(creator.next_viral_ms)),
                                         story=False, boost=20.0))
                self.incident_log.append(("viral", creator.creator_id, int(creator.next_viral_ms)))
                # new fans are a share of the people the post reached, not of the audience
                likes = creator.live[-1].expected[_K["like"]]
                creator.viral_gain = int(likes * self.rng.uniform(0.05, 0.1))
                creator.viral_fans_from_ms = int(creator.next_viral_ms) + 10 * 60_000
                creator.next_viral_ms = self._next_incident(end, self.incidents.viral_per_day)
            if creator.next_snapshot_ms < end:
                out.append(self._snapshot(creator, creator.next_snapshot_ms))
                creator.next_snapshot_ms += int(self.rng.uniform(*SNAPSHOT_EVERY_MS))
            for media in creator.live:
                self._interact(creator, media, start, end, rhythm, out)
            creator.live = [m for m in creator.live if end - m.published_ms < 3 * DAY_MS
                            and not (m.product_type == "STORY" and end - m.published_ms > DAY_MS)]
        if self.activity is not None:
            out.extend(self.activity.step(start, end))
        if self.inauthentic is not None:
            out.extend(self.inauthentic.step(start, end, out))
        self.now_ms = end
        out.sort(key=lambda pair: pair[0])
        return [envelope for _, envelope in out]

    def _publish(self, creator: _Creator, at_ms: int, story: bool,
                 boost: float = 1.0) -> tuple[int, Envelope]:
        creator.posts += 1
        rng = self.rng
        product = "STORY" if story else ("REELS" if rng.random() < REELS_SHARE else "FEED")
        campaign = creator.campaign_id if creator.campaign_id and rng.random() < 0.5 else None
        f = creator.followers
        expected = [0.0] * len(KINDS)
        if product == "STORY":
            views = f * STORY_REACH
            expected[_K["story_view"]] = views
            for kind, ratio in STORY_PER_VIEW.items():
                expected[_K[kind]] = views * ratio
        else:
            likes = f * creator.like_rate * (1.3 if product == "REELS" else 1.0)
            expected[_K["like"]] = likes
            expected[_K["comment"]] = likes * creator.comment_ratio
            expected[_K["save"]] = likes * SAVES_PER_LIKE
            expected[_K["share"]] = likes * SHARES_PER_LIKE
            if product == "REELS":
                expected[_K["reel_play"]] = f * REEL_PLAYS_PER_FOLLOWER
        expected = [e * boost for e in expected]
        media = _Media(f"{creator.creator_id}-m{creator.posts}", campaign, product, at_ms, expected)
        creator.live.append(media)
        paid = campaign is not None and rng.random() < 0.8
        caption = ("#ad " if paid else "") + f"{product.lower()} {creator.posts}"
        return at_ms, Envelope(MEDIA_TOPIC, {
            "media_id": media.media_id, "creator_id": creator.creator_id,
            "campaign_id": campaign, "media_product_type": product,
            "published_at": format_timestamp_ms(at_ms), "caption": caption,
            "paid_partnership": paid,
        })

    def _snapshot(self, creator: _Creator, at_ms: int) -> tuple[int, Envelope]:
        drift = creator.followers * 0.0002 + self.rng.gauss(0, math.sqrt(creator.followers) * 0.05)
        creator.followers = max(0, creator.followers + round(drift))
        if creator.viral_gain and at_ms >= creator.viral_fans_from_ms:
            # real fans follow once the post has reached them, over a few snapshots
            gained = max(1, creator.viral_gain // 2)
            creator.followers += gained
            creator.viral_gain -= gained
        if creator.purge is not None and creator.purge[0] <= at_ms:
            creator.followers -= creator.purge[1]
            creator.purge = None
        if creator.next_bought_ms <= at_ms:
            package = self.rng.choice((1_000, 2_000, 5_000, 10_000))
            package = min(package, max(1_000, creator.followers // 2 // 1_000 * 1_000))
            creator.followers += package
            self.incident_log.append(("bought", creator.creator_id, at_ms))
            creator.purge = (at_ms + int(self.rng.uniform(15, 40) * 60_000),
                             int(package * self.rng.uniform(0.2, 0.5)))
            creator.next_bought_ms = self._next_incident(at_ms, self.incidents.bought_per_day)
        return at_ms, Envelope(FOLLOWERS_TOPIC, {
            "creator_id": creator.creator_id, "followers_count": creator.followers,
            "follows_count": creator.follows, "observed_at": format_timestamp_ms(at_ms),
        })

    def _interact(self, creator: _Creator, media: _Media, start: int, end: int,
                  rhythm: float, out: list[tuple[int, Envelope]]) -> None:
        tau = DECAY_MS[media.product_type]
        a = max(0, start - media.published_ms)
        b = max(0, end - media.published_ms)
        share = (math.exp(-a / tau) - math.exp(-b / tau)) * rhythm
        if share <= 0:
            return
        rng = self.rng
        faults = self.faults
        for kind_index, total in enumerate(media.expected):
            n = poisson(self.rng, total * share)
            for _ in range(n):
                ts = int(rng.uniform(max(start, media.published_ms), end))
                self._event_seq += 1
                value = {
                    "event_id": f"ev-{self._event_seq:012d}",
                    "creator_id": creator.creator_id, "media_id": media.media_id,
                    "campaign_id": media.campaign_id, "kind": KINDS[kind_index],
                    "actor_id": self._actor(creator), "occurred_at": format_timestamp_ms(ts),
                    "text": self._comment_text() if kind_index == 1 else None,
                }
                out.append((ts, Envelope(INTERACTIONS_TOPIC, value)))
                roll = rng.random()
                if roll < faults.duplicate:
                    out.append((ts, Envelope(INTERACTIONS_TOPIC, dict(value))))
                elif roll < faults.duplicate + faults.late:
                    late = dict(value, event_id=f"{value['event_id']}-late",
                                occurred_at=format_timestamp_ms(ts - 2 * HOUR_MS))
                    out.append((ts, Envelope(INTERACTIONS_TOPIC, late)))
                elif roll < faults.duplicate + faults.late + faults.malformed:
                    out.append((ts, Envelope(INTERACTIONS_TOPIC, '{"event_id": "broken')))

    def _comment_text(self) -> str:
        return "love this!" if self.inauthentic is None else self.inauthentic.organic_text()

    def _actor(self, creator: _Creator) -> str:
        rng = self.rng
        if rng.random() < 0.8:  # followers, with a core of regulars
            return f"{creator.creator_id}-f{int(creator.followers * rng.random() ** 3)}"
        return f"u{rng.randrange(10_000_000)}"


def paced(
    simulator: CampaignSimulator,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Envelope]:
    """Event time that keeps pace with the wall clock, for a stack left running.

    A step is emitted once the clock has passed its end, so no event is ever ahead of
    the clock (dead-lettered a day ahead) nor behind it by more than a step (late).
    """
    while True:
        wait_s = (simulator.now_ms + simulator.step_ms) / 1000 - clock()
        if wait_s > 0:
            sleep(wait_s)
        yield from simulator.step()
