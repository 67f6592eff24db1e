"""``campaignpulse spikes score|evaluate``: the worker's detector on NAB-format files."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from campaignpulse.streams.spikes import nab
from campaignpulse.streams.spikes.detector import AnomalyDetector
from campaignpulse.streams.timestamps import parse_timestamp_ms


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    spikes = sub.add_parser("spikes", help="the follower-spike detector on NAB-format series")
    how = spikes.add_subparsers(dest="action", required=True)
    score = how.add_parser("score", help="score timestamp,value CSVs (a file or a tree)")
    score.add_argument("input", type=Path, help="a timestamp,value CSV or a tree of them")
    score.add_argument("output", type=Path,
                       help="where the scored CSVs go, at the same relative paths")
    evaluate = how.add_parser("evaluate", help="NAB-score the detector against labelled windows")
    evaluate.add_argument("data_dir", type=Path, help="the NAB data tree")
    evaluate.add_argument("windows", type=Path, metavar="WINDOWS_JSON",
                          help="NAB's combined_windows.json (labelled anomaly windows)")
    evaluate.add_argument("--profile", choices=sorted(nab.PROFILES), default="standard",
                          help="NAB cost profile")


def run(args: argparse.Namespace) -> int:
    if args.action == "score":
        count = sum(1 for _ in score_tree(args.input, args.output))
        print(json.dumps({"files": count, "output": str(args.output)}))
        return 0
    result = evaluate(args.data_dir, args.windows, nab.PROFILES[args.profile])
    print(json.dumps({
        "profile": args.profile, "score": round(result.normalised, 2),
        "threshold": result.threshold, "windows": result.windows, "raw": round(result.raw, 4),
    }))
    return 0


def _csv_files(root: Path) -> list[Path]:
    return [root] if root.is_file() else sorted(root.rglob("*.csv"))


def read_rows(path: Path) -> list[list[str]]:
    """The data rows of a NAB file, as text (the header is dropped)."""
    with path.open(newline="") as f:
        return [row for row in csv.reader(f)][1:]


def score_rows(rows: list[list[str]]) -> list[float]:
    """One fresh detector per series, fed in file order: exactly what a creator gets."""
    detector = AnomalyDetector()
    return [detector.update(_ms(row[0]), float(row[1])) for row in rows]


def _ms(timestamp: str) -> int:
    text = timestamp.strip().replace(" ", "T")
    return parse_timestamp_ms(text if text.endswith("Z") or "+" in text else text + "Z")


def score_tree(source: Path, target: Path) -> list[Path]:
    written = []
    for path in _csv_files(source):
        out = target if source.is_file() else target / path.relative_to(source)
        rows = read_rows(path)
        scores = score_rows(rows)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("timestamp", "value", "anomaly_score"))
            for row, score in zip(rows, scores, strict=True):  # values as they were written
                writer.writerow((row[0], row[1], f"{score:.6f}"))
        written.append(out)
    return written


def evaluate(data_dir: Path, windows_json: Path, profile: nab.CostProfile) -> nab.SweepResult:
    """Score every labelled file under ``data_dir`` and sweep one corpus-wide threshold."""
    labels: dict[str, list[list[str]]] = json.loads(windows_json.read_text())
    rows: list[nab.ScoredRow] = []
    for name in sorted(labels):
        path = data_dir / name
        if not path.is_file():
            continue
        series = read_rows(path)
        keys = [row[0][:19] for row in series]
        windows = [(start[:19], end[:19]) for start, end in labels[name]]
        rows.extend(nab.sweep_rows(name, keys, score_rows(series), windows, profile))
    return nab.best_threshold(rows, profile)
