"""A second real corpus in NAB's layout: Instagram engagement and follower series.

Why: the NAB subset has only two real categories, and neither is a bursty count with a
weekly cycle, which is what a creator's interactions and follower gains are. Here the
rhythm and the sizes are real and only the incidents are injected:

* when posts go up: the real upload times of an InstaFake (automated-v1.0) account, its
  busiest 26 weeks, at their real dates;
* how much each post gets: that account's real like+comment counts, scaled so its median
  post gets what the median post of a Kim et al. (2020) micro-influencer got;
* when the audience is about: the hour-of-week histogram of all 57,816 real uploads.

Likes arrive after a post with a heavy tail (half within about 1.5 h, a few over days)
and are drawn hour by hour as Poisson counts. Incidents are injected the way they happen:
a viral post, bought likes, a giveaway, a shadowban (engagement); a bought follower
package with its purge, a giveaway, a viral post (followers); a trending burst and a
collection outage (the pooled platform volume). Labelled like NAB (``synthetic_corpus``).

Deterministic: series k of a family draws only from ``random.Random("ig-<family>-<k>")``.

    python3 -m tests.unit.streams.spikes.instagram_corpus OUT_DIR [DATASETS/instagram]
"""

from __future__ import annotations

import csv
import json
import random
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from campaignpulse.producers.simulator import poisson
from tests.unit.streams.spikes.synthetic_corpus import onsets, write_corpus

DATASETS = Path(__file__).resolve().parents[4] / ".." / "shared" / "datasets" / "instagram"
HOUR = 3600
WEEK_HOURS = 168
SPAN_HOURS = 26 * WEEK_HOURS  # 4,368 hourly rows
#: a post's likes: share arriving h hours after it is (1 + h/tau)^-1 - (1 + (h+1)/tau)^-1
KERNEL_HOURS = 14 * 24
PACKAGES = (1_000, 2_000, 2_500, 3_000, 5_000, 10_000)
Post = tuple[int, float]  # (upload hour from the span's start, engagement)
Series = tuple[int, list[float], list[int]]  # (first hour as epoch hours, values, onsets)


@cache
def accounts(root: Path) -> list[dict[str, list[int]]]:
    path = root / "instafake" / "data" / "automated-v1.0" / "nonautomatedAccountData.json"
    data: list[dict[str, list[int]]] = json.loads(path.read_text())
    return data


@cache
def activity(root: Path) -> tuple[float, ...]:
    """Relative audience activity per hour of the week (Monday 00 UTC first), mean 1."""
    counts = [1.0] * WEEK_HOURS
    for a in accounts(root):
        for t in a["mediaUploadTimes"]:
            counts[(t // HOUR + 72) % WEEK_HOURS] += 1.0  # epoch hour 0 was a Thursday
    mean = statistics.fmean(counts)
    return tuple(0.4 + 0.6 * c / mean for c in counts)


@cache
def audiences(root: Path) -> list[tuple[int, float]]:
    """(followers, median likes+comments per post) of micro-influencers with 2+ posts."""
    with (root / "kim2020_influencers" / "influencers.csv").open(newline="") as f:
        followers = {r["account"]: int(r["followers"]) for r in csv.DictReader(f)}
    posts: dict[str, list[float]] = {}
    with (root / "kim2020_influencers" / "posts_sample.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            posts.setdefault(r["account"], []).append(float(r["likes"]) + float(r["comments"]))
    return sorted(
        (followers[a], statistics.median(p)) for a, p in posts.items()
        if len(p) >= 2 and 5_000 <= followers.get(a, 0) <= 100_000 and statistics.median(p) > 0
    )


def busiest_span(times: list[int]) -> int:
    """The first hour (epoch hours, a Monday 00 UTC) of the 26 weeks with most uploads."""
    hours = sorted(t // HOUR for t in times)
    best, start = 0, hours[0]
    for first in hours:
        monday = first - (first + 72) % WEEK_HOURS
        count = sum(1 for h in hours if monday <= h < monday + SPAN_HOURS)
        if count > best:
            best, start = count, monday
    return start


@cache
def creators(root: Path) -> list[int]:
    """InstaFake accounts with 40+ uploads within some 26 weeks (119 of 700)."""
    out = []
    for i, a in enumerate(accounts(root)):
        hours = sorted(t // HOUR for t in a["mediaUploadTimes"])
        if any(sum(1 for h in hours if s <= h < s + SPAN_HOURS) >= 40 for s in hours):
            out.append(i)
    return out


def creator_posts(rng: random.Random, root: Path) -> tuple[int, list[Post], float, int]:
    """A real creator's posts in its busiest span, scaled to a real micro-influencer."""
    a = accounts(root)[rng.choice(creators(root))]
    start = busiest_span(a["mediaUploadTimes"])
    raw = [
        (t // HOUR - start, float(likes + comments)) for t, likes, comments in zip(
            a["mediaUploadTimes"], a["mediaLikeNumbers"], a["mediaCommentNumbers"], strict=True)
        if 0 <= t // HOUR - start < SPAN_HOURS
    ]
    followers, median = rng.choice(audiences(root))
    scale = median / max(statistics.median(e for _, e in raw), 1.0)
    return start, [(h, e * scale) for h, e in raw], median, followers


def arrivals(posts: list[Post], tau: float = 1.5) -> list[float]:
    """Expected interactions per hour of the span from posts at (hour, engagement)."""
    kernel = [1 / (1 + h / tau) - 1 / (1 + (h + 1) / tau) for h in range(KERNEL_HOURS)]
    out = [0.0] * SPAN_HOURS
    for at, engagement in posts:
        for h, share in enumerate(kernel[: SPAN_HOURS - at]):
            out[at + h] += engagement * share
    return out


def draw(rng: random.Random, root: Path, start: int, rates: list[float]) -> list[float]:
    """Poisson counts of ``rates`` as the audience is about, hour by hour."""
    week = activity(root)
    return [float(poisson(rng, r * week[(start + i + 72) % WEEK_HOURS]))
            for i, r in enumerate(rates)]


def engagement(rng: random.Random, k: int, root: Path) -> Series:
    """A creator's interactions per hour; incidents: viral post, bought likes, giveaway,
    shadowban."""
    start, posts, median, _ = creator_posts(rng, root)
    at = onsets(rng, SPAN_HOURS, 2)
    kinds = rng.sample(("viral", "bought", "giveaway", "shadowban"), 2)
    rates = arrivals(posts)
    for onset, kind in zip(at, kinds, strict=True):
        if kind == "viral":
            extra = arrivals([(onset, median * rng.uniform(5, 15))], tau=4.0)
        elif kind == "giveaway":
            extra = arrivals([(onset, median * rng.uniform(3, 6))], tau=12.0)
        elif kind == "bought":
            extra = [0.0] * SPAN_HOURS
            burst = rng.randint(1, 2)
            for h in range(onset, onset + burst):
                extra[h] = median * rng.uniform(2, 5) / burst
        else:
            end = onset + rng.randint(7, 14) * 24
            cut = rng.uniform(0.2, 0.4)
            extra = [-r * (1 - cut) if onset <= h < end else 0.0 for h, r in enumerate(rates)]
        rates = [r + e for r, e in zip(rates, extra, strict=True)]
    background = 0.02 * median
    return start, draw(rng, root, start, [r + background for r in rates]), at


def followers(rng: random.Random, k: int, root: Path) -> Series:
    """A creator's net new followers per hour; incidents: a bought package (and its purge
    days later), a giveaway, a viral post."""
    start, posts, median, audience = creator_posts(rng, root)
    at = onsets(rng, SPAN_HOURS, 2)
    kinds = rng.sample(("package", "giveaway", "viral"), 2)
    if "viral" in kinds:
        posts.append((at[kinds.index("viral")], median * rng.uniform(5, 15)))
    follow_per_like = rng.uniform(0.01, 0.03)
    organic = audience * rng.uniform(0.0008, 0.002) / 24
    gain = [organic + follow_per_like * r for r in arrivals(posts)]
    loss = audience * rng.uniform(0.0005, 0.0015) / 24
    bought = [0.0] * SPAN_HOURS
    for onset, kind in zip(at, kinds, strict=True):
        if kind == "giveaway":
            factor, days = rng.uniform(5, 12), rng.randint(2, 3)
            for h in range(onset, onset + days * 24):
                gain[h] *= factor
        elif kind == "package":
            size = max([p for p in PACKAGES if p <= 0.25 * audience] or [PACKAGES[0]])
            hours = rng.randint(1, 4)
            for h in range(onset, onset + hours):
                bought[h] += size / hours
            purge = onset + rng.randint(24, 72)
            hours = rng.randint(6, 12)
            for h in range(purge, purge + hours):
                bought[h] -= size * rng.uniform(0.1, 0.4) / hours
    gains = draw(rng, root, start, gain)
    return start, [
        g - poisson(rng, loss) + round(b) for g, b in zip(gains, bought, strict=True)
    ], at


def platform(rng: random.Random, k: int, root: Path) -> Series:
    """Interactions per hour pooled over every InstaFake creator with under 2,000 likes a
    post, 26 weeks from Monday 2016-01-04 + k*26 weeks; incidents: a trending burst, a
    collection outage."""
    start = datetime(2016, 1, 4, tzinfo=UTC).timestamp() // HOUR + k * SPAN_HOURS
    posts = [
        (int(t // HOUR - start), float(likes + comments))
        for a in accounts(root) if statistics.median(a["mediaLikeNumbers"] or [0]) < 2_000
        for t, likes, comments in zip(
            a["mediaUploadTimes"], a["mediaLikeNumbers"], a["mediaCommentNumbers"], strict=True)
        if 0 <= t // HOUR - start < SPAN_HOURS
    ]
    rates = arrivals(posts)
    at = onsets(rng, SPAN_HOURS, 2)
    trend, outage = at[:: 1 if k % 2 == 0 else -1]
    hours, factor = rng.randint(3, 12), rng.uniform(3.0, 6.0)
    for i in range(hours):
        rates[trend + i] *= 1 + (factor - 1) * min(1.0, (i + 1) / 3)
    cut = rng.uniform(0.02, 0.15)
    for h in range(outage, outage + rng.randint(3, 10)):
        rates[h] *= cut
    return int(start), draw(rng, root, int(start), rates), at


FAMILIES: dict[str, tuple[Callable[[random.Random, int, Path], Series], int]] = {
    "ig_engagement": (engagement, 8), "ig_followers": (followers, 8), "ig_platform": (platform, 4),
}


def generate(out_dir: Path, root: Path = DATASETS) -> Path:
    """Write ``data/<family>/<family>_<k>.csv`` and ``windows.json``; return the latter."""
    series = {}
    for family, (make, count) in FAMILIES.items():
        for k in range(count):
            first, values, at = make(random.Random(f"ig-{family}-{k}"), k, root)
            secs = [(first + i) * HOUR for i in range(len(values))]
            series[f"{family}/{family}_{k}.csv"] = (
                [datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d %H:%M:%S") for s in secs],
                values, at,
            )
    return write_corpus(out_dir, series)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python3 -m tests.unit.streams.spikes.instagram_corpus OUT_DIR "
                 "[DATASETS/instagram]")
    print(generate(Path(sys.argv[1]), *(Path(a) for a in sys.argv[2:])))
