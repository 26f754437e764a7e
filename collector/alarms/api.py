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
import time
from collections.abc import Callable

from aiohttp import web

from collector.alarms.requests import MAX_BODY_BYTES, BadAction, parse_action
from collector.alarms.store import AlarmStatePersister, AlarmStore, AuditEntry
from collector.notify.payload import PayloadBuilder, rfc3339
from detectors.alarms.lifecycle import ActionRefused, AlarmLifecycle, AlarmStatus
from hazwatch.config import SensorInfo, SensorRegistry
from hazwatch.events import AlarmEvent

TOKEN_ENV = "HAZWATCH_API_TOKEN"
ALARM_ACTIONS = ("ack", "shelve", "unshelve", "reset")
SENSOR_ACTIONS = ("out_of_service", "return_to_service")
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
        lifecycle: AlarmLifecycle,
        registry: SensorRegistry,
        store: AlarmStore,
        dispatch: Callable[[list[AlarmEvent]], None],
        token: str | None = None,
        persister: AlarmStatePersister | None = None,
        clock: Callable[[], int] = time.time_ns,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        body_timeout_s: float = BODY_TIMEOUT_S,
    ) -> None:
        token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        if not token:
            raise MissingToken(f"set {TOKEN_ENV} to start the alarm API")
        self.lifecycle = lifecycle
        self.registry = registry
        self.store = store
        self.dispatch = dispatch
        self.persister = persister
        self.clock = clock
        self.idle_timeout_s = idle_timeout_s
        self.body_timeout_s = body_timeout_s
        self.builder = PayloadBuilder(registry)
        self._token = token.encode()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=MAX_BODY_BYTES)
        app.router.add_get("/health", self._health)
        app.router.add_get("/alarms", self._list)
        app.router.add_post("/alarms/{site}/{sensor}/{rule}/{action}", self._alarm_action)
        app.router.add_post("/sensors/{site}/{sensor}/{action}", self._sensor_action)
        app.router.add_get("/audit", self._audit)
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
        if request.path == "/health":
            return await handler(request)
        given = request.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self._token):
            return web.json_response(
                {"error": "a valid bearer token is required"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return await handler(request)

    def _sensor(self, request: web.Request) -> SensorInfo:
        site, sensor = request.match_info["site"], request.match_info["sensor"]
        slot = self.registry.slot(site, sensor)
        if slot is None:
            raise web.HTTPNotFound(
                text=f'{{"error": "no sensor {sensor} at site {site}"}}', content_type="application/json"
            )
        return self.registry.sensors[slot]

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

    def _finish(self, events: list[AlarmEvent]) -> list[dict[str, object]]:
        self.dispatch(events)
        if self.persister is not None:
            self.persister.save_now()
        return [self.builder.build(e) for e in events]

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
        info = self._sensor(request)
        rule, action = request.match_info["rule"], request.match_info["action"]
        if action not in ALARM_ACTIONS:
            return web.json_response({"error": f"action must be one of {', '.join(ALARM_ACTIONS)}"}, status=404)
        try:
            body = parse_action(await self._body(request))
        except BadAction as exc:
            return web.json_response({"error": str(exc)}, status=400)
        user = body.user
        now = self.clock()
        detail = body.detail("comment", "minutes")
        try:
            events = self._apply(action, info.slot, rule, user, now, body.minutes)
        except ActionRefused as exc:
            self.store.record_action(user, action, info.site, info.sensor, rule, f"refused: {exc}", detail, time_ns=now)
            return web.json_response({"error": str(exc)}, status=409)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        entry = self.store.record_action(user, action, info.site, info.sensor, rule, "done", detail, events, now)
        return web.json_response({"audit_id": entry.id, "events": self._finish(events)})

    def _apply(self, action: str, slot: int, rule: str, user: str, now: int, minutes: float) -> list[AlarmEvent]:
        lc = self.lifecycle
        if action == "ack":
            return lc.acknowledge(slot, rule, user, now)
        if action == "shelve":
            return lc.shelve(slot, rule, user, now + int(minutes * 60e9), now)
        if action == "unshelve":
            return lc.unshelve(slot, rule, user, now)
        return lc.reset(slot, rule, user, now)

    async def _sensor_action(self, request: web.Request) -> web.Response:
        info = self._sensor(request)
        action = request.match_info["action"]
        if action not in SENSOR_ACTIONS:
            return web.json_response({"error": f"action must be one of {', '.join(SENSOR_ACTIONS)}"}, status=404)
        try:
            body = parse_action(await self._body(request))
        except BadAction as exc:
            return web.json_response({"error": str(exc)}, status=400)
        user = body.user
        now = self.clock()
        detail = body.detail("comment")
        change = self.lifecycle.set_out_of_service if action == "out_of_service" else self.lifecycle.return_to_service
        try:
            events = change(info.slot, user, now)
        except ActionRefused as exc:
            self.store.record_action(user, action, info.site, info.sensor, "*", f"refused: {exc}", detail, time_ns=now)
            return web.json_response({"error": str(exc)}, status=409)
        entry = self.store.record_action(user, action, info.site, info.sensor, "*", "done", detail, events, now)
        return web.json_response({"audit_id": entry.id, "events": self._finish(events)})

    async def _audit(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return web.json_response({"error": "limit must be an integer"}, status=400)
        entries = self.store.audit(limit=max(1, min(limit, 10_000)))
        return web.json_response({"audit": [_audit_row(e) for e in entries]})


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
