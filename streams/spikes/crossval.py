"""Choose detector parameters without peeking: tune on some NAB categories, score the rest.

Every candidate is scored once per file; each fold then picks the candidate with the best
NAB score on the training categories (threshold swept there) and reports the held-out
category with that candidate, its threshold swept on the held-out files as NAB does for
any corpus. A category without labelled windows cannot be normalised, so for it the
fold reports the false detections at the threshold chosen on the training categories.

``--train DATA WINDOWS_JSON`` adds a corpus that is always trained on and never held out
(the synthetic and Instagram corpora of the tests): three real NAB categories are too
few families to choose parameters that generalise.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from multiprocessing import Pool
from pathlib import Path
from typing import Any

from campaignpulse.streams.spikes import nab
from campaignpulse.streams.spikes.detector import AnomalyDetector, DetectorParams
from campaignpulse.streams.spikes.misses import misses, misses_table
from campaignpulse.streams.timestamps import parse_timestamp_ms


@dataclass(frozen=True)
class Series:
    name: str  # path relative to the data root, e.g. ``realTraffic/speed_6005.csv``
    keys: tuple[str, ...]  # timestamps as the windows name them
    times: tuple[int, ...]
    values: tuple[float, ...]
    windows: tuple[tuple[str, str], ...]

    @property
    def category(self) -> str:
        return self.name.split("/", 1)[0]


def timestamp_ms(text: str) -> int:
    text = text.strip().replace(" ", "T")
    return parse_timestamp_ms(text if text.endswith("Z") or "+" in text else text + "Z")


def load_corpus(data_dir: Path, windows_json: Path) -> list[Series]:
    labels: dict[str, list[list[str]]] = json.loads(windows_json.read_text())
    corpus = []
    for name in sorted(labels):
        path = data_dir / name
        if not path.is_file():
            continue
        with path.open(newline="") as f:
            rows = list(csv.reader(f))[1:]
        corpus.append(Series(
            name, tuple(r[0][:19] for r in rows), tuple(timestamp_ms(r[0]) for r in rows),
            tuple(float(r[1]) for r in rows),
            tuple((a[:19], b[:19]) for a, b in labels[name]),
        ))
    return corpus


def score_series(series: Series, params: DetectorParams | None = None) -> list[float]:
    detector = AnomalyDetector(params=params)
    return [detector.update(t, x) for t, x in zip(series.times, series.values, strict=True)]


Scores = dict[str, list[float]]  # file name -> scores


def nab_result(
    corpus: Sequence[Series], scores: Scores, profile: nab.CostProfile
) -> nab.SweepResult:
    rows: list[nab.ScoredRow] = []
    for s in corpus:
        rows.extend(nab.sweep_rows(s.name, s.keys, scores[s.name], s.windows, profile))
    return nab.best_threshold(rows, profile)


def false_detections(corpus: Sequence[Series], scores: Scores, threshold: float) -> int:
    return sum(
        1 for s in corpus
        for i, v in enumerate(scores[s.name])
        if i >= nab.probation_length(len(s.keys)) and v >= threshold
    )


@dataclass(frozen=True)
class Detections:
    """Where one category's detections fall at its own swept threshold: NAB rewards the
    earliest detection in a window, and a window is centred on its anomaly, so a detector
    that fires at the anomaly itself gets 0.86 of a hit and only an earlier one more."""

    category: str
    threshold: float
    windows: int
    missed: int
    #: first detection's position in its window, 0 = left edge, 1 = right edge
    positions: tuple[float, ...]
    false_detections: int


def category_thresholds(
    corpus: Sequence[Series], scores: Scores, profile: nab.CostProfile
) -> dict[str, float]:
    """The threshold NAB's sweep chooses for each category on its own."""
    return {
        category: nab_result([s for s in corpus if s.category == category], scores, profile)
        .threshold for category in sorted({s.category for s in corpus})
    }


def detections(
    corpus: Sequence[Series], scores: Scores, profile: nab.CostProfile
) -> list[Detections]:
    out = []
    for category, threshold in category_thresholds(corpus, scores, profile).items():
        part = [s for s in corpus if s.category == category]
        positions: list[float] = []
        windows = false = 0
        for s in part:
            index = {k: i for i, k in enumerate(s.keys)}
            inside = [False] * len(s.keys)
            for start, end in s.windows:
                a, b = index[start], index[end]
                inside[a:b + 1] = [True] * (b + 1 - a)
                windows += 1
                first = next((i for i in range(a, b + 1) if scores[s.name][i] >= threshold), None)
                if first is not None:
                    positions.append((first - a) / (b + 1 - a))
            probation = nab.probation_length(len(s.keys))
            false += sum(
                1 for i, v in enumerate(scores[s.name])
                if i >= probation and v >= threshold and not inside[i]
            )
        out.append(Detections(
            category, threshold, windows, windows - len(positions), tuple(positions), false
        ))
    return out


def detections_table(found: Sequence[Detections]) -> str:
    lines = ["| category | threshold | windows | missed | first detection in window "
             "(median; earliest, latest) | false detections |", "|---|---|---|---|---|---|"]
    for d in found:
        p = sorted(d.positions)
        where = f"{p[len(p) // 2]:.2f} ({p[0]:.2f}, {p[-1]:.2f})" if p else "-"
        lines.append(f"| {d.category} | {d.threshold:.3f} | {d.windows} | {d.missed} | "
                     f"{where} | {d.false_detections} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Fold:
    held_out: str
    profile: str
    candidate: int  # index of the chosen candidate
    train_score: float
    held_out_score: float | None  # None when the category has no windows
    held_out_false_detections: int


def cross_validate(
    corpus: Sequence[Series], candidate_scores: Sequence[Scores],
    profiles: Iterable[str] = tuple(nab.PROFILES), always_train: Sequence[Series] = (),
) -> list[Fold]:
    """Leave one category of ``corpus`` out, for every category and profile; the series
    of ``always_train`` are in every fold's training set."""
    folds = []
    categories = sorted({s.category for s in corpus})
    for profile_name in profiles:
        profile = nab.PROFILES[profile_name]
        for held in categories:
            train = [s for s in corpus if s.category != held] + list(always_train)
            test = [s for s in corpus if s.category == held]
            results = [nab_result(train, scores, profile) for scores in candidate_scores]
            best = max(range(len(results)), key=lambda i: results[i].normalised)
            chosen = candidate_scores[best]
            has_windows = any(s.windows for s in test)
            folds.append(Fold(
                held, profile_name, best, results[best].normalised,
                nab_result(test, chosen, profile).normalised if has_windows else None,
                false_detections(test, chosen, results[best].threshold),
            ))
    return folds


def score_candidates(
    corpus: Sequence[Series], candidates: Sequence[DetectorParams],
    mapper: Callable[..., Iterable[list[float]]] = map,
) -> list[Scores]:
    """Scores of every candidate on every file; ``mapper`` may be a process pool's map."""
    jobs = [(s, c) for c in candidates for s in corpus]
    flat = list(mapper(_score_job, jobs))
    n = len(corpus)
    return [
        {s.name: flat[k * n + i] for i, s in enumerate(corpus)} for k in range(len(candidates))
    ]


def _score_job(job: tuple[Series, DetectorParams]) -> list[float]:
    return score_series(*job)


#: the few parameters cross-validation chooses among; the rest are fixed by design
GRID: dict[str, tuple[float, ...]] = {
    "average_rate": (0.05, 0.1, 0.2),
    "long_average_rate": (0.005, 0.01, 0.02),
    "range_tolerance": (0.03, 0.05, 0.08),
}


def grid_candidates(grid: dict[str, tuple[float, ...]] = GRID) -> list[DetectorParams]:
    names = list(grid)
    out = []
    for values in itertools.product(*(grid[n] for n in names)):
        chosen: dict[str, Any] = dict(zip(names, values, strict=True))
        out.append(replace(DetectorParams(), **chosen))
    return out


def table(folds: Sequence[Fold], candidates: Sequence[DetectorParams]) -> str:
    """The leave-one-category-out results as a Markdown table."""
    lines = ["| held-out category | standard | reward_low_FP_rate | reward_low_FN_rate |"
             " chosen (standard): " + ", ".join(GRID) + " |", "|---|---|---|---|---|"]
    for held in sorted({f.held_out for f in folds}):
        row = {f.profile: f for f in folds if f.held_out == held}
        cells = [
            f"{f.held_out_score:.1f}" if f.held_out_score is not None
            else f"{f.held_out_false_detections} false detections"
            for f in (row[p] for p in nab.PROFILES)
        ]
        chosen = candidates[row["standard"].candidate]
        params = ", ".join(f"{getattr(chosen, n):g}" for n in GRID)
        lines.append(f"| {held} | " + " | ".join(cells) + f" | {params} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("windows", type=Path, metavar="WINDOWS_JSON")
    parser.add_argument("--train", nargs=2, action="append", default=[], type=Path,
                        metavar=("DATA", "WINDOWS_JSON"),
                        help="a corpus always trained on, never held out (repeatable)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--detections", action="store_true",
                        help="also where the default's detections fall, per category")
    parser.add_argument("--misses", action="store_true",
                        help="also every window the default misses, with its values and "
                        "the detector's evidence")
    args = parser.parse_args(argv)
    corpus = load_corpus(args.data_dir, args.windows)
    extra = [
        replace(s, name=f"{data.parent.name}:{s.name}")  # apart from the NAB names
        for data, windows in args.train for s in load_corpus(data, windows)
    ]
    candidates = grid_candidates()
    with Pool(args.processes) as pool:
        scores = score_candidates([*corpus, *extra], candidates, pool.map)
    print(table(cross_validate(corpus, scores, always_train=extra), candidates))
    default = scores[candidates.index(DetectorParams())]
    if args.detections:
        standard = nab.PROFILES["standard"]
        print(detections_table(detections([*corpus, *extra], default, standard)))
    if args.misses:
        everything = [*corpus, *extra]
        thresholds = category_thresholds(everything, default, nab.PROFILES["standard"])
        print(misses_table(misses(everything, default, thresholds)))
    for label, part in [("all categories", corpus)] + [
        (f"trained-on corpus {data}", [s for s in extra if s.name.startswith(
            f"{data.parent.name}:")]) for data, _ in args.train
    ]:
        for name, profile in nab.PROFILES.items():
            print(f"{label}, default parameters, {name}: "
                  f"{nab_result(part, default, profile).normalised:.1f}")


if __name__ == "__main__":
    main()
