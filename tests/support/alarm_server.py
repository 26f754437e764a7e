"""The alarm API (and, with users, the console) served on its own event loop in a thread, as the collector
serves it, with the hooks tests need: run on the loop, raise the face methane alarm, call the API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from collector.alarms.actions import AlarmActions
from collector.alarms.api import AlarmApi
from collector.alarms.store import AlarmStatePersister, AlarmStore
from collector.app.localservices import free_port
from collector.console.app import PREFIX, Console
from collector.console.feed import ConsoleFeed
from collector.console.users import Users
from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config import SensorRegistry
from hazwatch.config.console import ConsoleSettings
from hazwatch.events import AlarmEvent

SITE, FACE = "xinyuan-mine", "LW-CH4-T1"
RULE = "threshold.high"


@dataclass
class RunningApi:
    url: str
    registry: SensorRegistry
    lifecycle: AlarmLifecycle
    store: AlarmStore
    loop: asyncio.AbstractEventLoop
    token: str
    feed: ConsoleFeed
    dispatched: list[AlarmEvent] = field(default_factory=list)

    def deliver(self, events: list[AlarmEvent]) -> None:
        """What the pipeline does with events: every event sink (here the record and the console) gets them."""
        self.dispatched.extend(events)
        self.feed.submit_events(events)

    def on_loop(self, fn: Callable[[], object]) -> object:
        """Run `fn` on the API's event loop, as the collector's detectors would."""

        async def call() -> object:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(10)

    def raise_methane(self, level: int, value: float, t_s: float = 1.0) -> None:
        slot = self.registry.slot(SITE, FACE)
        change = ConditionChange(
            slot, RULE, "process", level, "power_cut" if level == 2 else "alarm", "high", value, 1.0,
            int(t_s * 1e9), f"CH4 {value} %", latch=level == 2,
        )  # fmt: skip
        self.on_loop(lambda: self.deliver(self.lifecycle.apply([change], int(t_s * 1e9))))

    def post(self, action: str, token: str | None = None, **body) -> httpx.Response:
        token = token or self.token
        return httpx.post(
            f"{self.url}/alarms/{SITE}/{FACE}/{RULE}/{action}", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token}"})


@contextmanager
def running_api(
    state_dir: Path,
    registry: SensorRegistry,
    token: str,
    users: Users | None = None,
    settings: ConsoleSettings | None = None,
) -> Iterator[RunningApi]:
    lifecycle = AlarmLifecycle()
    store = AlarmStore.in_state_dir(state_dir)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = RunningApi("", registry, lifecycle, store, loop, token, ConsoleFeed(registry))
    persister = AlarmStatePersister(lifecycle, store, registry)
    actions = AlarmActions(lifecycle, registry, store, running.deliver, persister)
    server = AlarmApi(actions, token=token, open_prefixes=(PREFIX,))
    if users is not None:
        server.extend(Console(actions, running.feed, users, settings or ConsoleSettings()).install)
    running.url = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", free_port()), loop).result(10)
    try:
        yield running
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        store.close()
