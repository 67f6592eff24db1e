"""`campaignpulse bench` runs end to end on the embedded broker and prints its figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.integration.services import ROOT


def test_bench_prints_its_json_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "campaignpulse.cli", "bench", "--events", "3000", "--rounds", "2"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["pipeline_events_per_s"] > 0 and 0 < figures["ratio"]
    assert figures["spike_alert_latency_s"] > 0
    assert len(figures["raw_rounds"]) == len(figures["pipeline_rounds"]) == 2
    assert figures["pipeline_cpu_us_per_event"] > 0 and figures["startup_s"] > 0
    assert figures["rss_baseline_mb"] > 0 and figures["state_bytes_per_creator"] > 0
    assert figures["changelog_bytes_per_event"] > 0 and figures["rows_per_event"] > 0
