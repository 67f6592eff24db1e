"""``campaignpulse spikes score|evaluate`` on small files, and on the shared NAB subset."""

import csv
import json
import math
from pathlib import Path

import pytest

from campaignpulse.cli import main

NAB = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets" / "nab"


def write_series(path: Path, values: list[float]) -> list[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    stamps = [f"2014-04-{1 + i // 288:02d} {i % 288 // 12:02d}:{i % 12 * 5:02d}:00"
              for i in range(len(values))]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("timestamp", "value"))
        writer.writerows(zip(stamps, values, strict=True))
    return stamps


def wave(n: int, spike_at: int | None = None) -> list[float]:
    out = [50 + 10 * math.sin(i / 288 * 2 * math.pi) + (i * 7919 % 13) / 13 for i in range(n)]
    if spike_at is not None:
        out[spike_at] = 500.0
    return out


def test_score_keeps_paths_and_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_series(tmp_path / "in" / "a" / "one.csv", wave(600))
    write_series(tmp_path / "in" / "two.csv", wave(50))
    assert main(["spikes", "score", str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == 2
    for name, n in (("a/one.csv", 600), ("two.csv", 50)):
        rows = list(csv.DictReader((tmp_path / "out" / name).open()))
        given = list(csv.DictReader((tmp_path / "in" / name).open()))
        assert len(rows) == n
        assert [(r["timestamp"], r["value"]) for r in rows] == [
            (g["timestamp"], g["value"]) for g in given]
        assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)


def test_evaluate_finds_a_labelled_spike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stamps = write_series(tmp_path / "data" / "s.csv", wave(2000, spike_at=1500))
    windows = {"s.csv": [[stamps[1450] + ".000000", stamps[1550] + ".000000"]]}
    (tmp_path / "windows.json").write_text(json.dumps(windows))
    args = ["spikes", "evaluate", str(tmp_path / "data"), str(tmp_path / "windows.json")]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    # found at the window's middle, with no false positive: 100 * (0.86 + 1) / 2
    assert result["windows"] == 1
    assert 90 <= result["score"] <= 95


@pytest.mark.skipif(not NAB.is_dir(), reason="shared datasets not present")
@pytest.mark.parametrize(("profile", "floor"), [
    ("standard", 75.0), ("reward_low_FP_rate", 72.0), ("reward_low_FN_rate", 77.0),
])
def test_nab_subset_scores_stay_above_htm(
    profile: str, floor: float, capsys: pytest.CaptureFixture[str]
) -> None:
    # measured 79.2 / 76.7 / 82.2 (77.8 / 75.9 / 80.3 before values were judged after a
    # square root and the hold opened from half the alert level); HTM's 70.1 is a
    # full-corpus figure, so on this subset the floors only guard against regressions
    args = ["spikes", "evaluate", str(NAB / "data"), str(NAB / "combined_windows.json"),
            "--profile", profile]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["score"] > floor
