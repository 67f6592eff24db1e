"""`campaignpulse dashboards push` against a recording HTTP server on loopback.

Grafana cannot run here, so this is a client-contract test: it checks the requests
grafana-client sends on our behalf (paths, bearer token, bodies), not a real Grafana's
answer to them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from campaignpulse.cli import main
from campaignpulse.dashboards import boards, render


class FakeGrafana:
    """Records every request; answers like Grafana's folder and dashboard APIs."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None, Any]] = []
        self.folders: set[str] = set()
        self.versions: dict[str, int] = {}
        grafana = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                grafana.requests.append(
                    (self.command, self.path, self.headers.get("Authorization"), body))
                return body

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._record()
                uid = self.path.rsplit("/", 1)[-1]
                if self.path.startswith("/api/folders/") and uid in grafana.folders:
                    self._answer(200, {"uid": uid, "title": "campaignpulse"})
                else:
                    self._answer(404, {"message": "folder not found"})

            def do_POST(self) -> None:  # noqa: N802
                body = self._record()
                if self.path == "/api/folders":
                    grafana.folders.add(body["uid"])
                    self._answer(200, {"uid": body["uid"], "title": body["title"]})
                elif self.path == "/api/dashboards/db":
                    uid = body["dashboard"]["uid"]
                    grafana.versions[uid] = grafana.versions.get(uid, 0) + 1
                    self._answer(200, {"status": "success", "uid": uid,
                                       "version": grafana.versions[uid],
                                       "url": f"/d/{uid}/x"})
                else:
                    self._answer(404, {"message": "not found"})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGrafana]:
    fake = FakeGrafana()
    monkeypatch.setenv("CAMPAIGNPULSE_GRAFANA_URL", fake.url)
    monkeypatch.setenv("CAMPAIGNPULSE_GRAFANA_TOKEN", "glsa_test_token")
    yield fake
    fake.server.shutdown()


def test_push_twice_replaces_the_same_dashboards_by_uid(
    grafana: FakeGrafana, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboards", "push"]) == 0
    assert main(["dashboards", "push"]) == 0
    uids = {render(b)["uid"] for b in boards().values()}
    posts = [r for r in grafana.requests if r[:2] == ("POST", "/api/dashboards/db")]
    assert len(posts) == 2 * len(uids)
    for _, _, auth, body in posts:
        assert auth == "Bearer glsa_test_token"
        assert body["overwrite"] is True and body["folderUid"] == "campaignpulse"
        assert body["dashboard"]["id"] is None and body["dashboard"]["uid"] in uids
    assert grafana.versions == dict.fromkeys(uids, 2)
    # the folder is created once, then found
    assert [r[1] for r in grafana.requests if r[0] == "POST" and "folders" in r[1]] == [
        "/api/folders"]
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {p["uid"] for p in printed} == uids and {p["status"] for p in printed} == {"success"}


def test_dry_run_prints_the_request_bodies_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CAMPAIGNPULSE_GRAFANA_URL", raising=False)
    assert main(["dashboards", "push", "--dry-run", "--folder-uid", ""]) == 0
    bodies = json.loads(capsys.readouterr().out)
    assert [b["dashboard"]["uid"] for b in bodies] == [
        render(b)["uid"] for b in boards().values()]
    assert all("folderUid" not in b and b["overwrite"] for b in bodies)
    campaign = bodies[0]["dashboard"]
    assert campaign["templating"]["list"][0]["name"] == "campaign"


def test_push_without_url_or_token_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CAMPAIGNPULSE_GRAFANA_URL", raising=False)
    monkeypatch.delenv("CAMPAIGNPULSE_GRAFANA_TOKEN", raising=False)
    assert main(["dashboards", "push"]) == 2
    assert "CAMPAIGNPULSE_GRAFANA_TOKEN" in capsys.readouterr().err
