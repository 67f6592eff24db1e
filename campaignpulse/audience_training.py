"""Fit the fake-follower model on InstaFake, evaluate it on SRF 2017, fit the simulator's profiles.

Run by a developer (``python -m campaignpulse.audience_training DATASETS_DIR``
with ``DATASETS_DIR/instagram/{instafake,srf_2017}``); it writes
``streams/authenticity/audience_model.json`` and ``producers/follower_profiles.json``.
The product never reads the datasets. SRF 2017 is only scored, never fitted on: the
threshold is the one that maximises Youden's J out of fold on InstaFake (5 folds).
Needs numpy (a dependency of datasketch), so it stays out of the pure core; the shipped
inference does not.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from campaignpulse.streams.authenticity.audience import (
    FEATURES,
    AudienceModel,
    Measured,
    Profile,
    features,
    inauthentic_share,
    model_json,
)

Array = NDArray[np.float64]
#: L2 penalty on the standardised weights, fixed before looking at SRF
L2 = 1.0
FOLDS = 5


def instafake(root: Path) -> tuple[list[Profile], list[int], list[dict[str, int]]]:
    rows: list[dict[str, int]] = []
    for name in ("fakeAccountData.json", "realAccountData.json"):
        rows += json.loads((root / "instafake/data/fake-v1.0" / name).read_text())
    profiles = [
        Profile(r["userFollowerCount"], r["userFollowingCount"], r["userMediaCount"],
                bool(r["userHasProfilPic"]), bool(r["userIsPrivate"]),
                r["userBiographyLength"], r["usernameDigitCount"])
        for r in rows
    ]
    return profiles, [r["isFake"] for r in rows], rows


def srf(root: Path) -> tuple[list[Profile], list[int]]:
    with (root / "srf_2017/labelled_followers.csv").open() as f:
        rows = list(csv.DictReader(f))
    profiles = [
        Profile(int(r["followers"]), int(r["follows"]), int(r["posts"]),
                r["has_profile_picture"] == "1", r["private"] == "1")
        for r in rows
    ]
    return profiles, [int(r["is_fake"]) for r in rows]


def fit(x: Array, y: Array) -> tuple[Array, Array, Array]:
    """L2-penalised logistic regression by Newton's method on standardised features."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = np.c_[np.ones(len(x)), (x - mean) / scale]
    penalty = L2 * np.diag(np.r_[0.0, np.ones(z.shape[1] - 1)])
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-z @ w))
        step = np.linalg.solve((z * (p * (1 - p))[:, None]).T @ z + penalty,
                               z.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return mean, scale, w


def predict(params: tuple[Array, Array, Array], x: Array) -> Array:
    mean, scale, w = params
    result: Array = 1 / (1 + np.exp(-(np.c_[np.ones(len(x)), (x - mean) / scale] @ w)))
    return result


def roc_auc(score: Array, y: Array) -> float:
    """Mann–Whitney U with average ranks for ties."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = int(y.sum())
    neg = len(y) - pos
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def confusion(score: Array, y: Array, threshold: float) -> dict[str, float | int]:
    flagged = score >= threshold
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    return {"n": len(y), "fake": pos, "flagged": int(flagged.sum()),
            "precision": round(tp / max(1, tp + fp), 4), "recall": round(tp / pos, 4),
            "specificity": round((neg - fp) / neg, 4), "roc_auc": round(roc_auc(score, y), 4)}


def train(root: Path) -> AudienceModel:
    profiles, labels, _ = instafake(root)
    x = np.array([features(p) for p in profiles])
    y = np.array(labels, dtype=float)
    folds = np.array_split(np.random.default_rng(0).permutation(len(y)), FOLDS)
    out_of_fold = np.zeros(len(y))
    for k, test in enumerate(folds):
        train_idx = np.concatenate([f for j, f in enumerate(folds) if j != k])
        out_of_fold[test] = predict(fit(x[train_idx], y[train_idx]), x[test])
    pos, neg = y == 1, y == 0

    def youden(t: float) -> float:
        return float((out_of_fold[pos] >= t).mean() - (out_of_fold[neg] >= t).mean())

    threshold = max(np.unique(out_of_fold), key=youden)
    se = float((out_of_fold[pos] >= threshold).mean())
    sp = float((out_of_fold[neg] < threshold).mean())
    mean, scale, w = fit(x, y)
    model = AudienceModel(
        features=list(FEATURES), mean=_r(mean), scale=_r(scale), weights=_r(w[1:]),
        bias=round(float(w[0]), 6), threshold=float(threshold),
        sensitivity=Measured(round(se, 4), int(pos.sum())),
        specificity=Measured(round(sp, 4), int(neg.sum())),
    )
    test_profiles, test_labels = srf(root)
    ys = np.array(test_labels, dtype=float)
    scores = np.array([model.score(p) for p in test_profiles])
    held_out: dict[str, float | int | list[float]] = dict(
        confusion(scores, ys, model.threshold))
    estimate = inauthentic_share(int((scores >= model.threshold).sum()), len(ys),
                                 model.sensitivity, model.specificity)
    assert estimate is not None  # noqa: S101 - a classifier better than chance
    held_out["true_share"] = round(float(ys.mean()), 4)
    held_out["estimated_share"] = [round(v, 4) for v in (estimate.share, estimate.low,
                                                         estimate.high)]
    return msgspec.structs.replace(model, evaluation={
        "instafake_out_of_fold": confusion(out_of_fold, y, model.threshold),
        "srf_2017": held_out,
    })


def _r(values: Array) -> list[float]:
    return [round(float(v), 6) for v in values]


def profile_generator(root: Path) -> dict[str, Any]:
    """Per class and per (profile picture, private) cell: the cell's share and a normal on
    (log1p followers, log1p follows, log1p posts) with its covariance (the class's own
    for cells of fewer than 10 accounts), and the rest's rates, for the simulator."""
    _, labels, rows = instafake(root)
    out: dict[str, Any] = {"source": "InstaFake fake-v1.0, fitted by "
                           "campaignpulse.audience_training"}

    def normal(accounts: list[dict[str, int]]) -> dict[str, Any]:
        logs = np.log1p(np.array([[r["userFollowerCount"], r["userFollowingCount"],
                                   r["userMediaCount"]] for r in accounts], dtype=float))
        return {"log1p_mean": _r(logs.mean(0)),
                "log1p_cov": [_r(row) for row in np.cov(logs.T)]}

    for name, label in (("fake", 1), ("real", 0)):
        mine = [r for r, lab in zip(rows, labels, strict=True) if lab == label]
        pooled = normal(mine)
        cells = []
        for pic in (0, 1):
            for private in (0, 1):
                cell = [r for r in mine
                        if r["userHasProfilPic"] == pic and r["userIsPrivate"] == private]
                if cell:
                    cells.append({"has_profile_picture": bool(pic), "private": bool(private),
                                  "share": round(len(cell) / len(mine), 4),
                                  **(normal(cell) if len(cell) >= 10 else pooled)})
        out[name] = {
            "cells": cells,
            "no_biography": round(float(np.mean([r["userBiographyLength"] == 0 for r in mine])),
                                  4),
            "username_digits_mean": round(float(np.mean([r["usernameDigitCount"]
                                                         for r in mine])), 4),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__)
        return 2
    root = Path(args[0]) / "instagram"
    repository = Path(__file__).resolve().parent.parent
    model = train(root)
    (repository / "streams/authenticity/audience_model.json").write_text(model_json(model))
    generator = json.dumps(profile_generator(root), indent=2, sort_keys=True) + "\n"
    (repository / "producers/follower_profiles.json").write_text(generator)
    print(json.dumps(model.evaluation, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
