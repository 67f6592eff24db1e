"""``campaignpulse dashboards``: write the boards' JSON, or push them to a Grafana.

Push goes through grafana-client (extra ``grafana``) to ``POST /api/dashboards/db`` with
``overwrite`` and the board's fixed uid, so pushing again replaces the same dashboards.
URL and token come from CAMPAIGNPULSE_GRAFANA_URL and CAMPAIGNPULSE_GRAFANA_TOKEN.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from campaignpulse.settings import Settings

FOLDER_TITLE = "campaignpulse"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    boards = sub.add_parser("dashboards", help="the Grafana boards: write their JSON or push them")
    how = boards.add_subparsers(dest="action", required=True)
    push = how.add_parser(
        "push", help="create or replace the boards in Grafana (by uid); reads "
                     "CAMPAIGNPULSE_GRAFANA_URL and CAMPAIGNPULSE_GRAFANA_TOKEN")
    push.add_argument("--dry-run", action="store_true",
                      help="print the request bodies as JSON instead of sending them")
    push.add_argument("--folder-uid", default="campaignpulse",
                      help="folder to put the boards in, created if missing ('' for none)")
    write = how.add_parser("write", help="write the dashboard JSON files")
    write.add_argument("directory", type=Path, nargs="?",
                       default=Path("deploy/grafana/dashboards"),
                       help="where to write one JSON file per board")


def payloads(folder_uid: str) -> list[dict[str, Any]]:
    """One ``/api/dashboards/db`` body per board."""
    from campaignpulse.dashboards import boards, render

    bodies = []
    for build in boards().values():
        body: dict[str, Any] = {
            "dashboard": {**render(build), "id": None},
            "overwrite": True,
            "message": "campaignpulse dashboards push",
        }
        if folder_uid:
            body["folderUid"] = folder_uid
        bodies.append(body)
    return bodies


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    if args.action == "write":
        from campaignpulse.dashboards import write_all

        for path in write_all(args.directory):
            print(path)
        return 0
    bodies = payloads(args.folder_uid)
    if args.dry_run:
        print(json.dumps(bodies, indent=2))
        return 0
    settings = settings or Settings()
    if not settings.grafana_url or settings.grafana_token is None:
        print("set CAMPAIGNPULSE_GRAFANA_URL and CAMPAIGNPULSE_GRAFANA_TOKEN", file=sys.stderr)
        return 2
    try:
        from grafana_client.api import GrafanaApi
        from grafana_client.client import GrafanaClientError
    except ImportError:
        print("pushing needs grafana-client: pip install 'campaignpulse[grafana]'",
              file=sys.stderr)
        return 2
    api = GrafanaApi.from_url(settings.grafana_url,
                              credential=settings.grafana_token.get_secret_value())
    if args.folder_uid:
        try:
            api.folder.get_folder(args.folder_uid)
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            api.folder.create_folder(FOLDER_TITLE, uid=args.folder_uid)
    for body in bodies:
        answer = api.dashboard.update_dashboard(body)
        print(json.dumps({"uid": body["dashboard"]["uid"], "status": answer.get("status"),
                          "version": answer.get("version"), "url": answer.get("url")}))
    return 0
