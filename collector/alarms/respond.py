"""Answering a page from the message itself: `GET /respond/{token}` (a phone page) and `POST /respond/{token}`.

The token is the credential (collector/alarms/responses.py), so these routes need no bearer token.
An answer acknowledges the alarm if it still stands unacknowledged (which stops the escalation
chain), becomes a `respond` event for every other subscriber, and is written to the audit trail and
the alarm's handling record with who answered and what was done. A link that is expired, altered or
already used explains itself and changes nothing.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2
from aiohttp import web

from collector.alarms.actions import AlarmActions
from collector.alarms.records import VIA_LINK
from collector.alarms.responses import ANSWERS, InvalidToken, ResponseClaim, ResponseLinks
from collector.notify.payload import rfc3339
from detectors.alarms.lifecycle import ActionRefused, AlarmStatus
from hazwatch.events import AlarmEvent, AlarmState, Transition

RESPOND_PREFIX = "/respond/"
MAX_USER = 120
MAX_MEASURES = 2000
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)

TEXT = {
    "zh": {
        "title": "报警应答",
        "where": "位置",
        "sensor": "传感器",
        "rule": "规则",
        "level": "级别",
        "value": "数值",
        "limit": "限值",
        "state": "状态",
        "since": "开始时间",
        "who": "应答人(姓名 / 岗位)",
        "answer": "应答",
        "ack": "已确认,正在处理",
        "handled": "已处理完毕",
        "measures": "采取的措施",
        "measures_note": "选择“已处理完毕”时必填:做了什么(如撤人、断电、通风、复测结果)。",
        "send": "提交",
        "expires": "链接有效至",
        "done": "已记录:{user} — {answer}。升级通知已停止,其他接收人已收到此应答。",
        "expired": "此链接已过期,未做任何更改。请使用最新通知中的链接,或联系调度室。",
        "invalid": "此链接无效(不是本系统签发或已被改动),未做任何更改。",
        "used": "此链接已于 {time} 由 {user} 使用({answer}),未做任何更改。每个链接只能使用一次。",
        "missing_user": "请填写应答人。",
        "missing_measures": "选择“已处理完毕”时,请填写采取的措施。",
        "bad_answer": "应答只能是“已确认”或“已处理完毕”。",
        "gone": "该报警已恢复正常。",
        "ack_word": "已确认",
        "handled_word": "已处理完毕",
    },
    "en": {
        "title": "Answer the alarm",
        "where": "Where",
        "sensor": "Sensor",
        "rule": "Rule",
        "level": "Level",
        "value": "Value",
        "limit": "limit",
        "state": "State",
        "since": "Since",
        "who": "Who is answering (name / role)",
        "answer": "Answer",
        "ack": "Acknowledged, on it",
        "handled": "Handled",
        "measures": "Measures taken",
        "measures_note": "Required for 'Handled': what was done (people out, power cut, ventilated, re-measured).",
        "send": "Send",
        "expires": "This link can be used until",
        "done": "Recorded: {user} — {answer}. Escalation stopped; the other recipients have been told.",
        "expired": "This link has expired; nothing was changed. Use the link of the latest message or call the "
        "control room.",
        "invalid": "This link is not valid (not issued by hazwatch, or altered); nothing was changed.",
        "used": "This link was already used at {time} by {user} ({answer}); nothing was changed. "
        "Each link works once.",
        "missing_user": "Say who is answering.",
        "missing_measures": "Describe the measures taken when answering 'Handled'.",
        "bad_answer": "The answer must be 'ack' or 'handled'.",
        "gone": "The alarm is back to normal.",
        "ack_word": "acknowledged",
        "handled_word": "handled",
    },
}


STATE_WORDS_ZH = {
    "unacknowledged": "未确认",
    "acknowledged": "已确认",
    "rtn_unacknowledged": "已恢复,未确认",
    "latched": "已锁定,待复位",
    "shelved": "已搁置",
    "out_of_service": "停用",
    "normal": "正常",
}


def preferred_languages(accept_language: str | None) -> list[str]:
    """The primary language tags of an Accept-Language header, most preferred first (q-values honoured)."""
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((q, tag.strip().lower().split("-")[0]))
    return [tag for _, tag in sorted(ranked, key=lambda r: -r[0]) if tag]


def language(accept_language: str) -> str:
    """'zh' when the reader's most preferred language is Chinese, else 'en'."""
    preferred = preferred_languages(accept_language)
    return "zh" if preferred and preferred[0].startswith("zh") else "en"


@dataclass
class Outcome:
    status: int
    kind: str
    """'done', or why nothing was changed: 'expired', 'invalid', 'used', 'missing_user', 'missing_measures', ..."""
    claim: ResponseClaim | None = None
    values: dict[str, str] = field(default_factory=dict)
    events: list[AlarmEvent] = field(default_factory=list)
    audit_id: int | None = None


def respond_event_id(token_id: str) -> str:
    return hashlib.sha256(f"{token_id}|respond".encode()).hexdigest()[:32]


class ResponseDesk:
    """Answers through the same lifecycle, store, dispatch and persistence as every operator action."""

    def __init__(self, links: ResponseLinks, actions: AlarmActions, clock: Callable[[], int] | None = None) -> None:
        self.links = links
        self.actions = actions
        self.lifecycle = actions.lifecycle
        self.registry = actions.registry
        self.store = actions.store
        self.clock = clock or actions.clock

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(RESPOND_PREFIX + "{token}", self._page)
        app.router.add_post(RESPOND_PREFIX + "{token}", self._post)

    # ---- the answer -----------------------------------------------------------------------

    def check(self, token: str) -> Outcome:
        """Whether a link can still be answered, without changing anything."""
        try:
            claim = self.links.read(token)
        except InvalidToken as exc:
            return Outcome(410 if exc.reason == "expired" else 403, exc.reason)
        if self.registry.slot(claim.site, claim.sensor) is None:
            return Outcome(403, "invalid", claim)
        used = self.store.response_used(claim.token_id)
        if used is not None:
            values = {"time": rfc3339(used.time_ns), "user": used.user, "answer": used.answer}
            return Outcome(409, "used", claim, values)
        return Outcome(200, "ok", claim)

    def answer(self, token: str, answer: str, user: str, measures: str) -> Outcome:
        outcome = self.check(token)
        if outcome.kind != "ok" or outcome.claim is None:
            return outcome
        claim = outcome.claim
        user, measures = user.strip()[:MAX_USER], measures.strip()[:MAX_MEASURES]
        if answer not in ANSWERS:
            return Outcome(400, "bad_answer", claim)
        if not user:
            return Outcome(400, "missing_user", claim)
        if answer == "handled" and not measures:
            return Outcome(400, "missing_measures", claim)
        now = self.clock()
        if not self.store.claim_response(claim.token_id, user, answer, now):
            return self.check(token)
        slot = self.registry.slot(claim.site, claim.sensor)
        assert slot is not None  # checked above
        events: list[AlarmEvent] = []
        status = self.lifecycle.status(slot, claim.rule)
        if status is not None and not status.acknowledged:
            try:
                acks = self.lifecycle.acknowledge(slot, claim.rule, user, now)
            except ActionRefused:
                acks = []
            events += [replace(e, extra={**e.extra, "via": VIA_LINK}) for e in acks]
            status = self.lifecycle.status(slot, claim.rule)
        events.append(self._respond_event(claim, slot, status, answer, user, measures, now))
        detail: dict[str, object] = {
            "answer": answer,
            "measures": measures,
            "via": VIA_LINK,
            "token_id": claim.token_id,
            "paged_event_id": claim.event_id,
        }
        entry = self.store.record_action(
            user, "respond", claim.site, claim.sensor, claim.rule, "done", detail, events, now
        )
        self.actions.dispatch(events)
        if self.actions.persister is not None:
            self.actions.persister.save_now()
        return Outcome(200, "done", claim, {"user": user, "answer": answer}, events, entry.id)

    def _respond_event(
        self,
        claim: ResponseClaim,
        slot: int,
        status: AlarmStatus | None,
        answer: str,
        user: str,
        measures: str,
        now: int,
    ) -> AlarmEvent:
        said = f"{user}: {answer}" + (f" — {measures}" if measures else "")
        return AlarmEvent(
            event_id=respond_event_id(claim.token_id),
            slot=slot,
            rule=claim.rule,
            category=status.category if status else "process",
            transition=Transition.RESPOND,
            state=status.state if status else AlarmState.NORMAL,
            level=status.level if status else 0,
            level_name=status.level_name if status else "normal",
            priority=status.priority if status else "low",
            value=status.value if status else math.nan,
            limit=status.limit if status else math.nan,
            time_ns=now,
            message=said,
            extra={
                "user": user,
                "response": {"answer": answer, "measures": measures, "via": VIA_LINK},
                "original_event_id": claim.event_id,
            },
        )

    # ---- HTTP -----------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        outcome = self.check(request.match_info["token"])
        return self._html(request, outcome, form=outcome.kind == "ok")

    async def _post(self, request: web.Request) -> web.Response:
        wants_json = request.content_type == "application/json"
        if wants_json:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return web.json_response({"error": "body must be a JSON object"}, status=400)
        else:
            body = dict(await request.post())
        outcome = self.answer(
            request.match_info["token"],
            str(body.get("answer") or ""),
            str(body.get("user") or ""),
            str(body.get("measures") or ""),
        )
        if wants_json:
            return self._json(outcome)
        return self._html(request, outcome, form=outcome.kind in ("missing_user", "missing_measures", "bad_answer"))

    def _json(self, outcome: Outcome) -> web.Response:
        if outcome.kind != "done":
            text = TEXT["en"][outcome.kind].format(**outcome.values)
            return web.json_response({"error": outcome.kind, "message": text, **outcome.values}, status=outcome.status)
        return web.json_response(
            {"answered": outcome.kind, "audit_id": outcome.audit_id, "event_ids": [e.event_id for e in outcome.events]}
        )

    def _html(self, request: web.Request, outcome: Outcome, form: bool) -> web.Response:
        lang = language(request.headers.get("Accept-Language", ""))
        t = TEXT[lang]
        nonce = secrets.token_urlsafe(16)
        notice, notice_class = "", ""
        if outcome.kind not in ("ok",):
            values = dict(outcome.values)
            if "answer" in values:
                values["answer"] = t.get(f"{values['answer']}_word", values["answer"])
            notice = t[outcome.kind].format(**values)
            notice_class = "ok" if outcome.kind == "done" else "refused"
        alarm = self._view(outcome.claim, t) if outcome.claim is not None else None
        expires = rfc3339(outcome.claim.expires_ns) if outcome.claim is not None else ""
        html = _TEMPLATES.get_template("respond.html").render(
            lang="zh-CN" if lang == "zh" else "en", t=t, nonce=nonce, notice=notice, notice_class=notice_class,
            alarm=alarm, form=form, expires=expires,
        )
        headers = {
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; "
                "frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "Content-Language": "zh-CN" if lang == "zh" else "en",
        }
        return web.Response(text=html, content_type="text/html", status=outcome.status, headers=headers)

    @staticmethod
    def _state_text(status: AlarmStatus | None, t: dict[str, str]) -> str:
        if status is None:
            return t["gone"]
        word = STATE_WORDS_ZH.get(status.state.value) if t is TEXT["zh"] else None
        return f"{word} {status.state.value}" if word else status.state.value

    def _view(self, claim: ResponseClaim, t: dict[str, str]) -> dict[str, object] | None:
        """The alarm as it is now (not as it was when paged)."""
        slot = self.registry.slot(claim.site, claim.sensor)
        if slot is None:
            return None
        info = self.registry.sensors[slot]
        status = self.lifecycle.status(slot, claim.rule)

        def number(x: float) -> str:
            return f"{x:g}" if math.isfinite(x) else "—"

        return {
            "site": info.site,
            "area": info.area,
            "sensor": info.sensor,
            "sensor_name": info.name,
            "unit": info.unit,
            "rule": claim.rule,
            "level": status.level if status else 0,
            "level_name": status.level_name if status else "normal",
            "value": number(status.value) if status else "—",
            "limit": number(status.limit) if status else "—",
            "state_text": self._state_text(status, t),
            "raised": rfc3339(status.raised_ns) if status and status.raised_ns else "—",
            "message": status.message if status else "",
        }
