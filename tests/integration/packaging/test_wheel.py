"""The wheel puts one top-level package into site-packages, and it works from there."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_wheel_installs_only_the_campaignpulse_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("campaignpulse-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"campaignpulse"}
    assert "campaignpulse/streams/schemas/ig.interactions.json" in names
    assert "campaignpulse/producers/calibration.json" in names
    assert "campaignpulse/streams/campaigns/emv_rates.json" in names
    assert "campaignpulse/streams/schemas/ig.campaigns.json" in names

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True,
    )
    installed = {p.name for p in target.iterdir() if not p.name.endswith(".dist-info")}
    assert installed - {"bin"} == {"campaignpulse"}
    # Run from elsewhere with the installed copy first on the path: it must import and
    # find its data files without the repository.
    probe = (
        "import campaignpulse.streams.contract as c, campaignpulse.producers.simulator as s;"
        "import campaignpulse.cli;"
        "print(c.__file__); s.CampaignSimulator(seed=1, start_ms=0, creators=2);"
        "from campaignpulse.streams.campaigns.definition import default_emv_rates as r; r()"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(target)},
    ).stdout
    assert out.strip().startswith(str(target))
