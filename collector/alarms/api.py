"""The alarm API: list active alarms, and acknowledge / shelve / reset them, with a bearer token and an audit trail.

It runs on the collector's own event loop, so an operator action changes the same lifecycle the
detectors feed, with no locking, and its events go out through the same sinks as detected ones.
Every action, granted or refused, is written to the audit trail with the user who asked.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import os
import sqlite3
from collections.abc import Callable

from aiohttp import web

from collector.alarms import TOKEN_ENV
from collector.alarms.actions import AlarmActions, UnknownTarget
from collector.alarms.requests import MAX_BODY_BYTES, ActionBody, parse_action
from collector.alarms.store import AlarmRecord, AuditEntry
from collector.notify.payload import PayloadBuilder, rfc3339
from detectors.alarms.lifecycle import ActionRefused, AlarmStatus

IDLE_TIMEOUT_S = 10.0
"""A connection that sends no complete request (idle, stalled, or trickling its headers) is closed after this."""
BODY_TIMEOUT_S = 10.0
"""A request body not received in full within this is answered 408."""


class MissingToken(RuntimeError):
    """The API refuses to start without a token: an open endpoint could silence alarms."""


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else value


class AlarmApi:
    def __init__(
        self,
        actions: AlarmActions,
        token: str | None = None,
        open_prefixes: tuple[str, ...] = (),
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
    ) -> None:
        """`open_prefixes`: paths that authenticate their own way (the browser console's session cookie)."""
        token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        if not token:
            raise MissingToken(f"set {TOKEN_ENV} to start the alarm API")
        self.actions = actions
        self.lifecycle = actions.lifecycle
        self.registry = actions.registry
        self.store = actions.store
        self.builder = PayloadBuilder(actions.registry)
        self.open_prefixes = ("/health", *open_prefixes)
        self.idle_timeout_s = idle_timeout_s
        self.body_timeout_s = body_timeout_s
        self._token = token.encode()
        self._runner: web.AppRunner | None = None
        self._extensions: list[Callable[[web.Application], None]] = []
        self.url = ""

    def extend(self, install: Callable[[web.Application], None]) -> None:
        """Add routes served beside the API on the same port (the console)."""
        self._extensions.append(install)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=MAX_BODY_BYTES)
        app.middlewares.append(self._all_or_nothing)
        app.router.add_get("/health", self._health)
        app.router.add_get("/alarms", self._list)
        app.router.add_post("/alarms/{site}/{sensor}/{rule}/{action}", self._alarm_action)
        app.router.add_post("/sensors/{site}/{sensor}/{action}", self._sensor_action)
        app.router.add_get("/audit", self._audit)
        app.router.add_get("/records", self._records)
        for install in self._extensions:
            install(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 8765) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None, keepalive_timeout=self.idle_timeout_s)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- plumbing -------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if request.path.startswith(self.open_prefixes):
            return await handler(request)
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self._token):
            return web.json_response(
                {"error": "a valid bearer token is required"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return await handler(request)

    @web.middleware
    async def _all_or_nothing(self, request: web.Request, handler):
        """An action whose audit record cannot be written (disk full) is undone and answered 503: never a sensor
        silenced, or an alarm acknowledged, without its event and its audit record."""
        before = self.lifecycle.snapshot() if request.method == "POST" else None
        try:
            return await handler(request)
        except (sqlite3.Error, OSError) as exc:
            if before is not None:
                self.lifecycle.restore(before)
            return web.json_response(
                {"error": f"not done, the audit trail cannot be written: {exc}", "reason": "disk"},
                status=503,
                headers={"Retry-After": "30"},
            )

    async def _body(self, request: web.Request) -> dict:
        if not request.can_read_body:
            return {}
        try:
            async with asyncio.timeout(self.body_timeout_s):
                body = await request.json()
        except TimeoutError:
            raise web.HTTPRequestTimeout(
                text=f'{{"error": "body not received within {self.body_timeout_s:g} s"}}',
                content_type="application/json",
            ) from None
        except (ValueError, RecursionError, LookupError):  # not JSON, nested beyond the parser, unknown charset
            raise web.HTTPBadRequest(text='{"error": "body must be JSON"}', content_type="application/json") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}', content_type="application/json")
        return body

    # ---- handlers -------------------------------------------------------------------------

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"alarms": [self._row(a) for a in self.lifecycle.active()]})

    def _row(self, alarm: AlarmStatus) -> dict[str, object]:
        info = self.registry.sensors[alarm.slot]
        return {
            "site": info.site,
            "area": info.area,
            "sensor": info.sensor,
            "sensor_name": info.name,
            "kind": info.kind.value,
            "unit": info.unit,
            "rule": alarm.rule,
            "category": alarm.category,
            "state": alarm.state.value,
            "level": alarm.level,
            "level_name": alarm.level_name,
            "priority": alarm.priority,
            "value": _number(alarm.value),
            "limit": _number(alarm.limit),
            "message": alarm.message,
            "raised": rfc3339(alarm.raised_ns) if alarm.raised_ns else None,
            "changed": rfc3339(alarm.changed_ns) if alarm.changed_ns else None,
            "acknowledged": alarm.acknowledged,
            "latched": alarm.latched,
            "chattering": alarm.chattering,
            "shelved_until": rfc3339(alarm.shelved_until_ns) if alarm.shelved_until_ns else None,
            "out_of_service": alarm.slot in self.lifecycle.out_of_service,
        }

    async def _alarm_action(self, request: web.Request) -> web.Response:
        site, sensor, rule, action = (request.match_info[k] for k in ("site", "sensor", "rule", "action"))
        return await self._act(
            request, lambda body: self.actions.on_alarm(site, sensor, rule, action, body.user, body.params())
        )

    async def _sensor_action(self, request: web.Request) -> web.Response:
        site, sensor, action = (request.match_info[k] for k in ("site", "sensor", "action"))
        return await self._act(
            request, lambda body: self.actions.on_sensor(site, sensor, action, body.user, body.params())
        )

    async def _act(self, request: web.Request, act: Callable[[ActionBody], object]) -> web.Response:
        try:
            done = act(parse_action(await self._body(request)))
        except UnknownTarget as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except ActionRefused as exc:
            return web.json_response({"error": str(exc)}, status=409)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"audit_id": done.audit_id, "events": [self.builder.build(e) for e in done.events]})

    async def _audit(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return web.json_response({"error": "limit must be an integer"}, status=400)
        entries = self.store.audit(limit=max(1, min(limit, 10_000)))
        return web.json_response({"audit": [_audit_row(e) for e in entries]})


    async def _records(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return web.json_response({"error": "limit must be an integer"}, status=400)
        records = self.store.records(limit=max(1, min(limit, 10_000)))
        return web.json_response({"records": [_record_row(r) for r in records]})


def _record_row(record: AlarmRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "site": record.site,
        "sensor": record.sensor,
        "rule": record.rule,
        "start": rfc3339(record.started_ns),
        "end": rfc3339(record.ended_ns) if record.ended_ns is not None else None,
        "peak": {"level": record.peak_level, "level_name": record.peak_level_name, "value": record.peak_value},
        "unit": record.unit,
        "first_event_id": record.first_event_id,
        "responses": [
            {"time": rfc3339(r.time_ns), "user": r.user, "answer": r.answer, "measures": r.measures, "via": r.via}
            for r in record.responses
        ],
    }


def _audit_row(entry: AuditEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "time": rfc3339(entry.time_ns),
        "user": entry.user,
        "action": entry.action,
        "site": entry.site,
        "sensor": entry.sensor,
        "rule": entry.rule,
        "outcome": entry.outcome,
        "detail": entry.detail,
        "event_ids": entry.event_ids,
    }
