"""A small real HTTP server speaking the part of Grafana's HTTP API that `hazwatch dashboards push` uses.

Grafana cannot be installed on these machines, so this server holds requests to Grafana's
documented contract (Grafana 10/11 HTTP API reference: Folder API, Data source API, Dashboard
API, Alerting provisioning API): the same paths and methods, the same required body fields,
the same status codes for "not found" (404), "already exists" (409) and "changed by someone
else" (412 unless `overwrite`), and Bearer-token authentication (401).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from collector.app.localservices import free_port


@dataclass
class Recorded:
    method: str
    path: str
    body: dict | None


@dataclass
class GrafanaState:
    token: str
    folders: dict[str, dict] = field(default_factory=dict)
    datasources: dict[str, dict] = field(default_factory=dict)
    dashboards: dict[str, dict] = field(default_factory=dict)
    alert_rules: dict[str, dict] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def _require(body: dict | None, *names: str) -> dict:
    if not isinstance(body, dict):
        raise _Refused(400, "bad request data")
    missing = [n for n in names if n not in body or body[n] in (None, "")]
    if missing:
        raise _Refused(400, f"missing required field(s): {', '.join(missing)}")
    return body


def _handle(state: GrafanaState, method: str, path: str, body: dict | None) -> tuple[int, object]:
    if m := re.fullmatch(r"/api/folders/([^/]+)", path):
        uid = m.group(1)
        if uid not in state.folders:
            raise _Refused(404, "folder not found")
        if method == "GET":
            return 200, state.folders[uid]
        if method == "PUT":
            _require(body, "title")
            if not body.get("overwrite") and body.get("version") != state.folders[uid]["version"]:
                raise _Refused(412, "the folder has been changed by someone else")
            state.folders[uid].update(title=body["title"], version=state.folders[uid]["version"] + 1)
            return 200, state.folders[uid]
    if path == "/api/folders" and method == "POST":
        _require(body, "title")
        uid = body.get("uid") or f"generated{len(state.folders)}"
        if uid in state.folders:
            raise _Refused(409, "a folder with the same uid already exists")
        state.folders[uid] = {"id": len(state.folders) + 1, "uid": uid, "title": body["title"], "version": 1}
        return 200, state.folders[uid]
    if m := re.fullmatch(r"/api/datasources/uid/([^/]+)", path):
        uid = m.group(1)
        if uid not in state.datasources:
            raise _Refused(404, "Data source not found")
        if method == "GET":
            return 200, state.datasources[uid]
        if method == "PUT":
            _require(body, "name", "type", "access")
            state.datasources[uid] = {**body, "id": state.datasources[uid]["id"], "uid": uid}
            return 200, {"datasource": state.datasources[uid], "message": "Datasource updated"}
    if path == "/api/datasources" and method == "POST":
        _require(body, "name", "type", "access")
        if any(ds["name"] == body["name"] for ds in state.datasources.values()):
            raise _Refused(409, "data source with the same name already exists")
        uid = body.get("uid") or f"generated{len(state.datasources)}"
        state.datasources[uid] = {**body, "id": len(state.datasources) + 1, "uid": uid}
        return 200, {
            "datasource": state.datasources[uid],
            "id": state.datasources[uid]["id"],
            "message": "Datasource added",
        }
    if path == "/api/dashboards/db" and method == "POST":
        _require(body, "dashboard")
        dashboard = _require(body["dashboard"], "title")
        folder = body.get("folderUid")
        if folder and folder not in state.folders:
            raise _Refused(400, "folder not found")
        uid = dashboard.get("uid")
        existing = state.dashboards.get(uid)
        if existing and not body.get("overwrite"):
            raise _Refused(412, "A dashboard with the same uid already exists")
        version = existing["version"] + 1 if existing else 1
        state.dashboards[uid] = {"dashboard": dashboard, "folderUid": folder, "version": version}
        return 200, {
            "id": len(state.dashboards),
            "uid": uid,
            "status": "success",
            "version": version,
            "url": f"/d/{uid}",
        }
    if m := re.fullmatch(r"/api/v1/provisioning/alert-rules(?:/([^/]+))?", path):
        uid = m.group(1)
        if method == "GET":
            if uid not in state.alert_rules:
                raise _Refused(404, "rule not found")
            return 200, state.alert_rules[uid]
        rule = _require(
            body, "title", "folderUID", "ruleGroup", "condition", "data", "noDataState", "execErrState", "for"
        )
        if rule["folderUID"] not in state.folders:
            raise _Refused(400, "folder does not exist")
        if method == "POST" and uid is None:
            if rule.get("uid") in state.alert_rules:
                raise _Refused(409, "rule already exists")
            state.alert_rules[rule["uid"]] = rule
            return 201, rule
        if method == "PUT" and uid in state.alert_rules:
            state.alert_rules[uid] = {**rule, "uid": uid}
            return 200, state.alert_rules[uid]
        raise _Refused(404, "rule not found")
    raise _Refused(404, "Not found")


def _handler(state: GrafanaState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            path = self.path.split("?", 1)[0]
            state.requests.append(Recorded(self.command, path, body))
            try:
                if self.headers.get("Authorization") != f"Bearer {state.token}":
                    raise _Refused(401, "Unauthorized")
                status, answer = _handle(state, self.command, path, body)
            except _Refused as refused:
                status, answer = refused.status, {"message": refused.message}
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on `state.requests` instead."""

    return Handler


class GrafanaApiServer:
    def __init__(self, token: str) -> None:
        self.state = GrafanaState(token=token)
        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.state))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GrafanaApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
