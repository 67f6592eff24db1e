"""``python -m campaignpulse.dashboards [DIR]``: write every board's JSON (default
deploy/grafana/dashboards), the files Grafana provisions and the tests compare."""

from __future__ import annotations

import sys
from pathlib import Path

from campaignpulse.dashboards import write_all

if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/grafana/dashboards")):
        print(path)
