"""Fit the simulator's parameters from the Instagram influencer dataset.

Run once by a developer (``python -m campaignpulse.producers.calibrate DATASET_DIR``); the fitted
numbers are committed as ``producers/calibration.json`` so the product never needs the
dataset at run time. A test re-fits from the dataset and compares.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

#: Follower tiers of the micro-influencer range: (name, lower bound, upper bound).
TIERS = (("nano", 1_000, 10_000), ("micro", 10_000, 50_000), ("mid", 50_000, 100_000))


def _tier(followers: int) -> str | None:
    for name, low, high in TIERS:
        if low <= followers < high:
            return name
    return None


def _lognormal(values: list[float]) -> dict[str, float]:
    logs = [math.log(v) for v in values if v > 0]
    return {"mu": round(statistics.fmean(logs), 4), "sigma": round(statistics.pstdev(logs), 4)}


def fit(dataset: Path) -> dict[str, Any]:
    kim = dataset / "kim2020_influencers"
    followers: dict[str, int] = {}
    with (kim / "influencers.csv").open() as f:
        for row in csv.DictReader(f):
            followers[row["account"]] = int(row["followers"])
    per_tier_followers: dict[str, list[float]] = defaultdict(list)
    for count in followers.values():
        tier = _tier(count)
        if tier:
            per_tier_followers[tier].append(count)
    like_rate: dict[str, list[float]] = defaultdict(list)
    comment_ratio: dict[str, list[float]] = defaultdict(list)
    video: dict[str, list[int]] = defaultdict(list)
    ads: dict[str, list[int]] = defaultdict(list)
    post_times: dict[str, list[int]] = defaultdict(list)
    with (kim / "posts_sample.csv").open() as f:
        for row in csv.DictReader(f):
            count = followers.get(row["account"], 0)
            tier = _tier(count)
            if not tier:
                continue
            likes, comments = int(row["likes"]), int(row["comments"])
            like_rate[tier].append(likes / count)
            if likes > 0:
                comment_ratio[tier].append(max(comments, 0.5) / likes)
            # is_video and is_ad are all 0 in this sample; typename and sponsor tags are not.
            video[tier].append(int(row["typename"] == "GraphSidecar"))
            ads[tier].append(int(row["is_ad"] == "1" or int(row["n_sponsor_users"] or 0) > 0))
            post_times[row["account"]].append(int(row["taken_at_timestamp"]))
    # The Kim sample holds ~2 posts per account: posting cadence comes from InstaFake's
    # real (non-automated) accounts, which list every upload time.
    gaps: list[float] = []
    accounts = json.loads(
        (dataset / "instafake/data/automated-v1.0/nonautomatedAccountData.json").read_text()
    )
    for account in accounts:
        times = sorted(account["mediaUploadTimes"])
        gaps.extend((b - a) / 86_400 for a, b in zip(times, times[1:], strict=False) if b > a)
    total = sum(len(v) for v in per_tier_followers.values())
    tiers = {}
    for name, _, _ in TIERS:
        tiers[name] = {
            "share": round(len(per_tier_followers[name]) / total, 4),
            "followers": _lognormal(per_tier_followers[name]),
            "like_rate": _lognormal(like_rate[name]),
            "comment_to_like": _lognormal(comment_ratio[name]),
            "carousel_share": round(statistics.fmean(video[name]), 4),
            "sponsored_share": round(statistics.fmean(ads[name]), 4),
        }
    # Within-hour posting distribution (UTC) gives the daily rhythm.
    hours = [0] * 24
    for times in post_times.values():
        for t in times:
            hours[(t // 3600) % 24] += 1
    peak = max(hours)
    return {
        "source": "kim2020_influencers (influencers.csv, posts_sample.csv)",
        "tiers": tiers,
        "median_days_between_posts": round(statistics.median(gaps), 3),
        "daily_rhythm": [round(h / peak, 3) for h in hours],
    }


def main() -> None:
    dataset = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/instagram")
    out = Path(__file__).with_name("calibration.json")
    out.write_text(json.dumps(fit(dataset), indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
