"""Feeding Prometheus Alertmanager the way Prometheus does: standing state, re-posted, never a false all-clear.

Alertmanager treats an alert it has not heard of again by its `endsAt` as resolved, and tells
every receiver so. So this feed does not send transitions: it mirrors the lifecycle's standing
alarms. Every alarm standing at a level (a latched one until it is reset) is posted every
`repost_seconds` with `endsAt` `ends_after_reposts` intervals ahead; one that no longer stands
(cleared, reset, or gone from the active list) is posted once with `endsAt = now`. Labels are only
what never changes for one alarm (`alertname`, site, area, sensor, rule, kind, category), so an
escalation updates the one alert (severity, level and state are annotations) instead of starting a
second one and resolving the first.

Events only wake the feed, so a clear or an escalation reaches Alertmanager within milliseconds
rather than at the next re-post. What failed is simply sent again on the next pass: the feed holds
the state, not a queue, so an outage does not pile up stale posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from collector.notify.filters import subscriber_wants
from collector.notify.payload import encode, rfc3339
from collector.notify.signing import MissingSecret
from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from detectors.alarms.lifecycle import AlarmStatus
from hazwatch.config import SensorRegistry
from hazwatch.config.channels import AlertmanagerOptions
from hazwatch.config.notify import Subscriber, WebhookSettings
from hazwatch.events import AlarmEvent, AlarmState

log = logging.getLogger("hazwatch.alertmanager")
Key = tuple[int, str]
RETRY_SECONDS = 1.0


class MissingCredential(MissingSecret):
    """Auth is configured for an Alertmanager subscriber but the password or token is not set."""


def _read(env: str | None, file: str | None, what: str) -> str:
    value = os.environ.get(env, "") if env else ""
    if not value and file:
        value = Path(file).read_text().strip()
    if not value:
        raise MissingCredential(f"{what}: set {env or 'the environment variable'} or the file")
    return value


def auth_for(options: AlertmanagerOptions, name: str) -> httpx.Auth | dict[str, str] | None:
    """Basic auth (Alertmanager's own `--web.config.file`) or a bearer token (a proxy in front of it)."""
    if options.username is not None:
        password = _read(options.password_env, options.password_file, f"alertmanager subscriber {name} password")
        return httpx.BasicAuth(options.username, password)
    if options.bearer_token_env or options.bearer_token_file:
        token = _read(options.bearer_token_env, options.bearer_token_file, f"alertmanager subscriber {name} token")
        return {"Authorization": f"Bearer {token}"}
    return None


def severity_for(options: AlertmanagerOptions, level: int) -> str:
    known = sorted(options.severity)
    fitting = [lv for lv in known if lv <= level] or known[:1]
    return options.severity[fitting[-1]]


@dataclass(frozen=True, slots=True)
class Alert:
    """What was last posted for one alarm, to post its end with the same labels and start."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str

    def body(self, ends_at: str, generator_url: str) -> dict[str, object]:
        return {
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": self.starts_at,
            "endsAt": ends_at,
            "generatorURL": generator_url,
        }


class AlertmanagerFeed:
    """EventSink plus a re-post task for every `format: alertmanager` subscriber."""

    def __init__(
        self,
        settings: WebhookSettings,
        registry: SensorRegistry,
        alarms: Callable[[], Sequence[AlarmStatus]],
        clock: Callable[[], int] = time.time_ns,
        response_link: Callable[[str, str, str, str], str] | None = None,
    ) -> None:
        """`response_link(paged_by, site, sensor, rule)` issues a response link (collector/alarms/responses.py)."""
        self.settings = settings
        self.subscribers = [s for s in settings.subscribers if s.format == "alertmanager"]
        self.registry = registry
        self.alarms = alarms
        self.clock = clock
        self._auth = {s.name: auth_for(s.alertmanager, s.name) for s in self.subscribers}
        self._posted: dict[str, dict[Key, Alert]] = {s.name: {} for s in self.subscribers}
        self._next_full: dict[str, float] = {s.name: 0.0 for s in self.subscribers}
        self.response_link = response_link
        self._links: dict[tuple[int, str, int, int], str] = {}
        self._wake = asyncio.Event()
        self._problems = RateLimitedLog(log)

    # ---- EventSink ------------------------------------------------------------------------

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        if events and self.subscribers:
            self._wake.set()

    async def run(self) -> None:
        if not self.subscribers:
            return
        async with httpx.AsyncClient(timeout=self.settings.timeout) as client:
            while True:
                self._wake.clear()
                waits = [await self._sync_safely(client, s) for s in self.subscribers]
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.01, min(waits))):
                        await self._wake.wait()

    async def close(self) -> None:
        """Nothing to flush: Alertmanager lets firing alerts run to their endsAt, and the next start re-posts."""

    # ---- one pass -------------------------------------------------------------------------

    async def _sync_safely(self, client: httpx.AsyncClient, subscriber: Subscriber) -> float:
        """A bug in one pass must not end the feed: Alertmanager would read the silence as 'resolved'."""
        try:
            return await self.sync(client, subscriber)
        except Exception as exc:
            self._problems.error(f"alertmanager-sync:{subscriber.name}", "alertmanager feed pass failed: %r", exc)
            return RETRY_SECONDS

    async def sync(self, client: httpx.AsyncClient, subscriber: Subscriber) -> float:
        """Post what changed (and, when due, every firing alert); returns seconds until the next pass is due."""
        options = subscriber.alertmanager
        now_ns = self.clock()
        now = now_ns / 1e9
        full = now >= self._next_full[subscriber.name]
        posted = self._posted[subscriber.name]
        firing = self._firing(subscriber)
        ends_at = rfc3339(now_ns + int(options.repost_seconds * options.ends_after_reposts * 1e9))
        ended = rfc3339(now_ns)
        body = [
            alert.body(ends_at, options.generator_url)
            for key, alert in firing.items()
            if full or posted.get(key) != alert
        ]
        body += [alert.body(ended, options.generator_url) for key, alert in posted.items() if key not in firing]
        if body:
            error = await self._post(client, subscriber, body)
            if error is not None:
                metrics.WEBHOOK_DELIVERIES.labels(subscriber.name, "failed").inc()
                self._problems.warning(
                    f"alertmanager:{subscriber.name}",
                    "alertmanager %s (%s) refused %d alerts: %s; trying again",
                    subscriber.name,
                    subscriber.url,
                    len(body),
                    error,
                )
                return min(RETRY_SECONDS, options.repost_seconds)
            metrics.WEBHOOK_DELIVERIES.labels(subscriber.name, "delivered").inc()
        self._posted[subscriber.name] = firing
        if full:
            self._next_full[subscriber.name] = now + options.repost_seconds
        return self._next_full[subscriber.name] - now

    def _firing(self, subscriber: Subscriber) -> dict[Key, Alert]:
        """Alarms standing at a level: acknowledged, latched (until reset), shelved or out of service alike,
        because silence in Alertmanager means 'resolved' (use Alertmanager's silences to mute)."""
        out: dict[Key, Alert] = {}
        standing = self.alarms()
        for status in standing:
            if status.level <= 0 or not 0 <= status.slot < len(self.registry.sensors):
                continue
            if subscriber_wants(subscriber, self._filter_view(status)):
                out[(status.slot, status.rule)] = self._alert(subscriber.alertmanager, status)
        unanswered = {(s.slot, s.rule, s.raised_ns, s.level) for s in standing if s.state is AlarmState.UNACKNOWLEDGED}
        self._links = {key: link for key, link in self._links.items() if key in unanswered}
        return out

    def _link(self, status: AlarmStatus) -> str | None:
        """One link per alarm and level while it stands unacknowledged: an escalation is a new page."""
        if self.response_link is None or status.state is not AlarmState.UNACKNOWLEDGED:
            return None
        key = (status.slot, status.rule, status.raised_ns, status.level)
        if key not in self._links:
            info = self.registry.sensors[status.slot]
            paged_by = f"alertmanager:{info.site}/{info.sensor}/{status.rule}@{status.raised_ns}:{status.level}"
            self._links[key] = self.response_link(paged_by, info.site, info.sensor, status.rule)
        return self._links[key]

    def _filter_view(self, status: AlarmStatus) -> dict[str, object]:
        info = self.registry.sensors[status.slot]
        return {
            "site": info.site,
            "kind": info.kind.value,
            "category": status.category,
            "rule": status.rule,
            "level": status.level,
            "peak_level": status.peak_level,
            "transition": "",
            "state": status.state.value,
        }

    def _alert(self, options: AlertmanagerOptions, status: AlarmStatus) -> Alert:
        info = self.registry.sensors[status.slot]
        labels = {
            "alertname": status.rule,
            "site": info.site,
            "area": info.area,
            "sensor": info.sensor,
            "rule": status.rule,
            "kind": info.kind.value,
            "category": status.category,
        }
        annotations = {
            "summary": status.message,
            "severity": severity_for(options, status.level),
            "level": str(status.level),
            "level_name": status.level_name,
            "priority": status.priority,
            "state": status.state.value,
            "sensor_name": info.name,
            "value": f"{status.value:g}" if math.isfinite(status.value) else "",
            "limit": f"{status.limit:g}" if math.isfinite(status.limit) else "",
            "unit": info.unit,
        }
        link = self._link(status)
        if link is not None:
            annotations["response_url"] = link
        starts = status.raised_ns or status.changed_ns or self.clock()
        return Alert(labels, annotations, rfc3339(starts))

    async def _post(self, client: httpx.AsyncClient, subscriber: Subscriber, body: list) -> str | None:
        auth = self._auth[subscriber.name]
        headers = {"Content-Type": "application/json"}
        if isinstance(auth, dict):
            headers |= auth
        try:
            response = await client.post(
                subscriber.url,
                content=encode(body),
                headers=headers,
                auth=auth if isinstance(auth, httpx.Auth) else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if response.is_success else f"HTTP {response.status_code}: {response.text[:200]}"
