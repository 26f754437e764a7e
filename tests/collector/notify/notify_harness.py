"""Test harness for notifications: a real HTTP receiver that checks signatures, and a notifier runner."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from collector.app.localservices import free_port
from collector.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from collector.notify.webhooks import WebhookNotifier
from detectors.alarms.conditions import ConditionChange

SECRET = b"test-secret-of-the-control-room"


@dataclass
class Delivery:
    path: str
    body: bytes
    payload: object
    signature_valid: bool
    received_at: float
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    timestamp: str = ""
    signature: str = ""


@dataclass
class Receiver:
    """An HTTP endpoint that records every request and checks its signature, and can be taken down."""

    port: int = field(default_factory=free_port)
    secret: bytes = SECRET
    fail_after_recording: int = 0
    """Answer 503 to this many requests after recording them: the sender cannot know they arrived."""
    signed: bool = True
    """False for senders that do not sign with hazwatch's scheme (Alertmanager's own webhook)."""
    received: list[Delivery] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp, signature = request.headers.get(TIMESTAMP_HEADER, ""), request.headers.get(SIGNATURE_HEADER, "")
        valid = verify(self.secret, timestamp, signature, body)
        self.received.append(
            Delivery(
                request.path,
                body,
                json.loads(body),
                valid,
                time.monotonic(),
                dict(request.headers),
                dict(request.query),
                timestamp,
                signature,
            )
        )
        if self.fail_after_recording > 0:
            self.fail_after_recording -= 1
            return web.Response(status=503)
        return web.Response(status=204 if valid or not self.signed else 401)

    def payloads(self, path: str | None = None) -> list[dict]:
        return [d.payload for d in self.received if path is None or d.path == path]

    async def wait_for(self, count: int, timeout: float = 10.0, path: str | None = None) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.payloads(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver got {len(self.payloads(path))} of {count} within {timeout} s")
            await asyncio.sleep(0.02)
        return self.payloads(path)


@contextlib.asynccontextmanager
async def running(notifier: WebhookNotifier) -> AsyncIterator[WebhookNotifier]:
    """Run the notifier as the pipeline would, and shut it down the same way (cancel, then close)."""
    task = asyncio.create_task(notifier.run())
    try:
        yield notifier
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await notifier.close()


def methane_change(slot: int, level: int, t_ns: int, value: float, rule: str = "threshold.high") -> ConditionChange:
    names = {0: "normal", 1: "alarm", 2: "power_cut"}
    return ConditionChange(
        slot=slot,
        rule=rule,
        category="process",
        level=level,
        level_name=names[level],
        priority="critical" if level == 2 else "high",
        value=value,
        limit={0: 1.0, 1: 1.0, 2: 1.5}[level],
        time_ns=t_ns,
        message=f"CH4 {value:.2f} %",
        latch=level == 2,
    )
