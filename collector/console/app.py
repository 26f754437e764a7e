"""The operators' alarm console: server-rendered pages on the alarm API's port, live through server-sent events.

What needs action now is at the top (unacknowledged first, by priority, then newest), each alarm with one
button to say "I have it". Every action goes through AlarmActions, so it is audited under the signed-in user
exactly like an API call. Forms work without JavaScript; the small script only re-renders on live events.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from collections.abc import Callable
from importlib.resources import files
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web

from collector.alarms.actions import AlarmActions, BadRequest, UnknownTarget
from collector.console.feed import ConsoleFeed
from collector.console.i18n import MESSAGES, language
from collector.console.sessions import LoginThrottle, Session, Sessions, tokens_match
from collector.console.users import Role, Users
from collector.notify.payload import rfc3339
from dashboards.build import dashboard_uid
from detectors.alarms.lifecycle import ActionRefused, AlarmStatus
from hazwatch.config.console import ConsoleSettings
from hazwatch.events import AlarmState

PREFIX = "/console"
SESSION_COOKIE = "hw_session"
LOGIN_COOKIE = "hw_login"
NS = 1_000_000_000
PRIORITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
STATE_ORDER = {
    AlarmState.UNACKNOWLEDGED: 0,
    AlarmState.RTN_UNACKNOWLEDGED: 1,
    AlarmState.LATCHED: 2,
    AlarmState.ACKNOWLEDGED: 3,
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEARTBEAT_S = 15.0


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _urgency(alarm: AlarmStatus) -> tuple[int, int, int, int]:
    """What needs action first: unacknowledged before acknowledged, then priority, level, newest."""
    return (STATE_ORDER.get(alarm.state, 9), PRIORITY_ORDER.get(alarm.priority, 9), -alarm.level, -alarm.raised_ns)


def _number(value: float, unit: str) -> str:
    return "—" if not math.isfinite(value) else f"{value:.4g} {unit}".strip()


class Console:
    def __init__(
        self,
        actions: AlarmActions,
        feed: ConsoleFeed,
        users: Users,
        settings: ConsoleSettings,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.actions = actions
        self.feed = feed
        self.users = users
        self.settings = settings
        self.clock = clock
        self.sessions = Sessions(idle_s=settings.session_idle_minutes * 60, max_s=settings.session_max_hours * 3600)
        self.throttle = LoginThrottle()
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("collector.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["rfc3339"] = rfc3339
        self._static = files("collector.console") / "static"

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self._headers)
        r = app.router
        r.add_get(PREFIX, self._home)
        r.add_get(f"{PREFIX}/login", self._login_page)
        r.add_post(f"{PREFIX}/login", self._login)
        r.add_post(f"{PREFIX}/logout", self._logout)
        r.add_get(f"{PREFIX}/alarms", self._page("active"))
        r.add_get(f"{PREFIX}/shelved", self._page("shelved"))
        r.add_get(f"{PREFIX}/history", self._page("history"))
        r.add_get(f"{PREFIX}/events", self._events)
        r.add_post(f"{PREFIX}/act", self._act)
        r.add_get(f"{PREFIX}/static/{{name}}", self._asset)

    # ---- plumbing -------------------------------------------------------------------------

    @web.middleware
    async def _headers(self, request: web.Request, handler):
        response = await handler(request)
        if request.path.startswith(PREFIX):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def _words(self, request: web.Request) -> dict[str, str]:
        return MESSAGES[language(request.headers.get("Accept-Language"))]

    def _render(self, request: web.Request, template: str, status: int = 200, **context: object) -> web.Response:
        words = MESSAGES[language(request.headers.get("Accept-Language"))]
        lang = language(request.headers.get("Accept-Language"))
        html = self.templates.get_template(template).render(t=words, lang=lang, prefix=PREFIX, **context)
        return web.Response(text=html, content_type="text/html", status=status)

    @staticmethod
    def _to_login(reason: str = "") -> web.HTTPSeeOther:
        return web.HTTPSeeOther(f"{PREFIX}/login" + (f"?{urlencode({'why': reason})}" if reason else ""))

    # ---- sign in and out ------------------------------------------------------------------

    async def _home(self, request: web.Request) -> web.Response:
        raise web.HTTPSeeOther(f"{PREFIX}/alarms" if self._session(request) else f"{PREFIX}/login")

    async def _login_page(self, request: web.Request, error: str = "", status: int = 200) -> web.Response:
        token = secrets.token_urlsafe(24)
        why = request.query.get("why", "")
        words = self._words(request)
        notice = error or (words["session_expired"] if why == "expired" else "")
        response = self._render(request, "login.html", status=status, csrf=token, error=notice)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", path=PREFIX, secure=request.secure)
        return response

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        words = self._words(request)
        if not tokens_match(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
            return await self._login_page(request, words["bad_login"], status=403)
        name = str(form.get("user", "")).strip()[:64]
        client = request.remote or "?"
        if self.throttle.blocked(f"user:{name}", f"ip:{client}"):
            return await self._login_page(request, words["throttled"], status=429)
        user = await asyncio.to_thread(self.users.authenticate, name, str(form.get("password", ""))[:256])
        if user is None:
            self.throttle.failed(f"user:{name}", f"ip:{client}")
            return await self._login_page(request, words["bad_login"], status=401)
        self.throttle.succeeded(f"user:{name}")
        session_id, _ = self.sessions.start(user.name)
        response = web.HTTPSeeOther(f"{PREFIX}/alarms")
        response.set_cookie(
            SESSION_COOKIE, session_id, httponly=True, samesite="Strict", path=PREFIX, secure=request.secure
        )
        response.del_cookie(LOGIN_COOKIE, path=PREFIX)
        raise response

    async def _logout(self, request: web.Request) -> web.Response:
        session = self._session(request)
        form = await request.post()
        if session is not None and tokens_match(session.csrf, form.get("csrf")):
            self.sessions.end(request.cookies.get(SESSION_COOKIE))
        response = self._to_login()
        response.del_cookie(SESSION_COOKIE, path=PREFIX)
        raise response

    # ---- pages ----------------------------------------------------------------------------

    def _page(self, view: str) -> Callable[[web.Request], object]:
        async def handler(request: web.Request) -> web.Response:
            session = self._session(request)
            if session is None:
                raise self._to_login("expired" if request.cookies.get(SESSION_COOKIE) else "")
            user = self.users.get(session.user)
            template = "fragment.html" if request.query.get("fragment") else "page.html"
            return self._render(
                request,
                template,
                view=view,
                session=session,
                user=user,
                can_act=user is not None and user.role is Role.OPERATOR,
                notice=request.query.get("notice", ""),
                notice_kind=request.query.get("kind", "done"),
                **self._view_context(view),
            )

        return handler

    def _view_context(self, view: str) -> dict[str, object]:
        now = self.clock()
        lifecycle = self.actions.lifecycle
        out_of_service = lifecycle.out_of_service
        active = lifecycle.active()
        standing = [a for a in active if a.state is not AlarmState.SHELVED and a.slot not in out_of_service]
        unacked = (AlarmState.UNACKNOWLEDGED, AlarmState.RTN_UNACKNOWLEDGED)
        context: dict[str, object] = {
            "counts": {
                "active": len(standing),
                "unacked": sum(1 for a in standing if a.state in unacked),
                "shelved": sum(1 for a in active if a.state is AlarmState.SHELVED) + len(out_of_service),
            },
            "grafana": self._grafana_links(),
        }
        if view == "active":
            context["rows"] = [self._row(a, now) for a in sorted(standing, key=_urgency)]
        elif view == "shelved":
            context["rows"] = [self._row(a, now) for a in active if a.state is AlarmState.SHELVED]
            context["out_of_service"] = [
                {"site": info.site, "sensor": info.sensor, "name": info.name, "area": info.area, "who": who}
                for slot, who in out_of_service.items()
                for info in (self.actions.registry.sensors[slot],)
            ]
        else:
            context["events"] = [self._event_row(e) for e in list(self.feed.history)[:200]]
            context["audit"] = self.actions.store.audit(limit=50)
            context["kpis"] = self._kpi_context()
        return context

    def _row(self, alarm: AlarmStatus, now: int) -> dict[str, object]:
        info = self.actions.registry.sensors[alarm.slot]
        return {
            "key": f"{info.site}/{info.sensor}/{alarm.rule}",
            "site": info.site,
            "sensor": info.sensor,
            "name": info.name,
            "area": info.area,
            "rule": alarm.rule,
            "state": alarm.state.value,
            "priority": alarm.priority,
            "level": alarm.level,
            "level_name": alarm.level_name,
            "value": _number(alarm.value, info.unit) if alarm.category == "process" else "—",
            "limit": _number(alarm.limit, info.unit),
            "message": alarm.message,
            "raised": rfc3339(alarm.raised_ns) if alarm.raised_ns else "",
            "raised_ns": alarm.raised_ns,
            "since": _duration((now - alarm.raised_ns) / NS) if alarm.raised_ns else "",
            "acked_by": self.feed.acked_by.get((alarm.slot, alarm.rule), "") if alarm.acknowledged else "",
            "latched": alarm.latched,
            "chattering": alarm.chattering,
            "shelved_until": rfc3339(alarm.shelved_until_ns) if alarm.shelved_until_ns else "",
        }

    def _event_row(self, event) -> dict[str, object]:
        info = self.actions.registry.sensors[event.slot]
        return {
            "time": rfc3339(event.time_ns),
            "sensor": info.sensor,
            "name": info.name,
            "rule": event.rule,
            "transition": event.transition.value,
            "state": event.state.value,
            "level_name": event.level_name,
            "value": _number(event.value, info.unit),
            "who": str(event.extra.get("user") or ""),
            "message": event.message,
        }

    def _kpi_context(self) -> dict[str, object]:
        kpis = self.feed.kpis()
        counts = kpis.per_interval
        top = max(counts, default=0) or 1
        bars = [{"x": i * 4, "h": round(40 * c / top, 1), "count": c} for i, c in enumerate(counts)]
        return {
            "kpis": kpis,
            "bars": bars,
            "top": top,
            "floods": len(kpis.flood_periods),
            "chattering": len(kpis.chattering),
            "stale": len(kpis.stale),
            "bad_actors": kpis.bad_actors[:5],
        }

    def _grafana_links(self) -> list[dict[str, str]]:
        base = (self.settings.grafana_url or "").rstrip("/")
        if not base:
            return []
        sites = dict.fromkeys(s.site for s in self.actions.registry)
        return [{"site": site, "url": f"{base}/d/{quote(dashboard_uid(site, 'overview'))}"} for site in sites]

    # ---- live updates ---------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if self._session(request) is None:
            raise web.HTTPUnauthorized(text="sign in first")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        queue = self.feed.subscribe()
        try:
            await response.write(b"retry: 1000\n\n")
            while self._session(request) is not None:
                try:
                    async with asyncio.timeout(HEARTBEAT_S):
                        event = await queue.get()
                except TimeoutError:
                    await response.write(b": heartbeat\n\n")
                    continue
                data = json.dumps({"event_id": event.event_id, "transition": event.transition.value})
                await response.write(f"event: alarm\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.feed.unsubscribe(queue)
        return response

    # ---- actions --------------------------------------------------------------------------

    async def _act(self, request: web.Request) -> web.Response:
        session = self._session(request)
        form = await request.post()
        back = form.get("back") if form.get("back") in ("alarms", "shelved", "history") else "alarms"
        if session is None:
            raise self._to_login("expired")
        if not tokens_match(session.csrf, form.get("csrf")):
            raise web.HTTPForbidden(text="the form is stale or forged (CSRF check failed): reload the page")
        user = self.users.get(session.user)
        words = self._words(request)
        if user is None or user.role is not Role.OPERATOR:
            raise web.HTTPForbidden(text=words["viewer_only"])
        action = str(form.get("action", ""))
        params = {"comment": str(form.get("comment", ""))[:500]}
        if form.get("minutes"):
            params["minutes"] = str(form.get("minutes"))[:16]
        site, sensor, rule = str(form.get("site", "")), str(form.get("sensor", "")), str(form.get("rule", ""))
        try:
            if form.get("target") == "sensor":
                self.actions.on_sensor(site, sensor, action, user.name, params)
            else:
                self.actions.on_alarm(site, sensor, rule, action, user.name, params)
            notice, kind = f"{words['done']}: {words.get(action, action)} {sensor}", "done"
        except (UnknownTarget, ActionRefused, BadRequest, ValueError) as exc:
            notice, kind = f"{words['refused']}: {exc}", "refused"
        raise web.HTTPSeeOther(f"{PREFIX}/{back}?{urlencode({'notice': notice, 'kind': kind})}")

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        types = {"console.js": "text/javascript", "console.css": "text/css"}
        if name not in types:
            raise web.HTTPNotFound()
        body = (self._static / name).read_text(encoding="utf-8")
        return web.Response(text=body, content_type=types[name], headers={"Cache-Control": "max-age=300"})
