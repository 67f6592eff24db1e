"""``python -m campaignpulse.dashboards [DIR]``: write every board's JSON (default
deploy/grafana/dashboards), the files Grafana provisions and the tests compare."""

from __future__ import annotations

import argparse
from pathlib import Path

from campaignpulse.dashboards import write_all

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m campaignpulse.dashboards",
                                     description=__doc__)
    parser.add_argument("dir", nargs="?", type=Path, default=Path("deploy/grafana/dashboards"),
                        help="where to write the JSON (default: %(default)s)")
    for path in write_all(parser.parse_args().dir):
        print(path)
