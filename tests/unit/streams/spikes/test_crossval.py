"""Leave-one-category-out selection on a tiny NAB-layout corpus."""

import csv
import json
from dataclasses import replace
from pathlib import Path

from campaignpulse.streams.spikes import crossval
from campaignpulse.streams.spikes.detector import DetectorParams


def write(root: Path, name: str, values: list[float]) -> list[str]:
    stamps = [f"2014-04-{1 + i // 288:02d} {i % 288 // 12:02d}:{i % 12 * 5:02d}:00"
              for i in range(len(values))]
    path = root / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("timestamp", "value"))
        writer.writerows(zip(stamps, values, strict=True))
    return stamps


def test_each_category_is_scored_with_parameters_chosen_on_the_others(tmp_path: Path) -> None:
    windows = {}
    for k, category in enumerate(("a", "b", "quiet")):
        values = [10.0 + (i * 7919 % 13) / 13 for i in range(1500)]
        name = f"{category}/s.csv"
        if category != "quiet":
            values[1000 + 50 * k] = 80.0
            stamps = write(tmp_path, name, values)
            windows[name] = [[stamps[950 + 50 * k] + ".000000", stamps[1050 + 50 * k]]]
        else:
            write(tmp_path, name, values)
            windows[name] = []
    (tmp_path / "windows.json").write_text(json.dumps(windows))
    corpus = crossval.load_corpus(tmp_path / "data", tmp_path / "windows.json")
    assert [s.category for s in corpus] == ["a", "b", "quiet"]
    candidates = [DetectorParams(), replace(DetectorParams(), range_tolerance=50.0)]
    scores = crossval.score_candidates(corpus, candidates)
    folds = crossval.cross_validate(corpus, scores, profiles=["standard"])
    assert [f.held_out for f in folds] == ["a", "b", "quiet"]
    by_name = {f.held_out: f for f in folds}
    # the spike is a new extreme: the range rule finds it, the disabled one does not
    assert by_name["a"].candidate == 0 and by_name["a"].held_out_score is not None
    assert by_name["a"].held_out_score > 90
    assert by_name["quiet"].held_out_score is None
    assert by_name["quiet"].held_out_false_detections == 0


def test_the_table_names_every_held_out_category() -> None:
    candidates = crossval.grid_candidates()
    assert DetectorParams() in candidates
    folds = [
        crossval.Fold(held, profile, 0, 80.0, None if held == "quiet" else 70.0, 3)
        for held in ("a", "quiet") for profile in ("standard", "reward_low_FP_rate",
                                                   "reward_low_FN_rate")
    ]
    text = crossval.table(folds, candidates)
    assert "| a | 70.0 | 70.0 | 70.0 |" in text
    assert "| quiet | 3 false detections |" in text


def test_a_corpus_always_trained_on_chooses_for_a_category_with_no_other_to_learn_from(
    tmp_path: Path,
) -> None:
    windows: dict[str, list[list[str]]] = {}
    for root, category in ((tmp_path / "nab", "only"), (tmp_path / "extra", "spiky")):
        values = [10.0 + (i * 7919 % 13) / 13 for i in range(1500)]
        values[1000] = 80.0
        name = f"{category}/s.csv"
        stamps = write(root, name, values)
        windows = {name: [[stamps[950] + ".000000", stamps[1050]]]}
        (root / "windows.json").write_text(json.dumps(windows))
    corpus = crossval.load_corpus(tmp_path / "nab" / "data", tmp_path / "nab" / "windows.json")
    extra = crossval.load_corpus(
        tmp_path / "extra" / "data", tmp_path / "extra" / "windows.json")
    blind = replace(DetectorParams(), range_tolerance=1e3, max_surprise=0.0)  # scores 0
    candidates = [blind, DetectorParams()]
    scores = crossval.score_candidates([*corpus, *extra], candidates)
    alone = crossval.cross_validate(corpus, scores, profiles=["standard"])
    helped = crossval.cross_validate(corpus, scores, profiles=["standard"], always_train=extra)
    assert [f.held_out for f in helped] == ["only"]  # never held out itself
    assert alone[0].train_score == 0.0  # nothing to learn from: the first candidate
    assert helped[0].candidate == 1 and helped[0].train_score > 90
    assert helped[0].held_out_score is not None and helped[0].held_out_score > 90


def test_detections_say_where_in_its_window_each_first_detection_falls() -> None:
    keys = tuple(f"t{i:03d}" for i in range(100))  # probation: the first 15 rows
    hit = crossval.Series("c/hit.csv", keys, tuple(range(100)), (0.0,) * 100,
                          (("t040", "t049"), ("t070", "t079")))
    quiet = crossval.Series("c/quiet.csv", keys, tuple(range(100)), (0.0,) * 100, ())
    scores = {hit.name: [0.0] * 100, quiet.name: [0.0] * 100}
    scores[hit.name][43] = scores[hit.name][46] = 0.9  # the first of them counts
    scores[quiet.name][10] = 0.9  # in probation: not a false detection
    scores[quiet.name][60] = 0.9
    (found,) = crossval.detections([hit, quiet], scores, crossval.nab.PROFILES["standard"])
    assert (found.category, found.threshold, found.windows) == ("c", 0.9, 2)
    assert found.missed == 1
    assert found.positions == (0.3,)
    assert found.false_detections == 1
    table = crossval.detections_table([found])
    assert "| c | 0.900 | 2 | 1 | 0.30 (0.30, 0.30) | 1 |" in table
