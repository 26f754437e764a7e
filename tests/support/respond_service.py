"""A real alarm API with response links on a free port: lifecycle, store, handling records and the event fan-out."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from collector.alarms.actions import AlarmActions
from collector.alarms.api import AlarmApi
from collector.alarms.records import HandlingRecorder
from collector.alarms.respond import RESPOND_PREFIX, ResponseDesk
from collector.alarms.responses import ResponseLinks
from collector.alarms.store import AlarmStore
from collector.app.localservices import free_port
from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent

API_TOKEN = "operator-api-token"
LINK_SECRET = b"response-link-secret"


@dataclass
class ResponseService:
    url: str
    registry: SensorRegistry
    lifecycle: AlarmLifecycle
    store: AlarmStore
    links: ResponseLinks
    sinks: list[Callable[[Sequence[AlarmEvent]], None]]
    dispatched: list[AlarmEvent] = field(default_factory=list)

    def dispatch(self, events: Sequence[AlarmEvent]) -> None:
        """What the pipeline does with events: every sink gets them."""
        self.dispatched.extend(events)
        for sink in self.sinks:
            sink(events)

    def apply(self, change: ConditionChange) -> list[AlarmEvent]:
        events = self.lifecycle.apply([change], change.time_ns)
        self.dispatch(events)
        return events

    @property
    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}"}


@contextlib.asynccontextmanager
async def response_service(
    registry: SensorRegistry,
    state_dir: Path,
    sinks: Sequence[Callable[[Sequence[AlarmEvent]], None]] = (),
    clock: Callable[[], int] | None = None,
) -> AsyncIterator[ResponseService]:
    port = free_port()
    lifecycle = AlarmLifecycle()
    store = AlarmStore.in_state_dir(state_dir)
    extra = {} if clock is None else {"clock": clock}
    links = ResponseLinks(LINK_SECRET, f"http://127.0.0.1:{port}", valid_minutes=30, **extra)
    recorder = HandlingRecorder(store, registry)
    service = ResponseService("", registry, lifecycle, store, links, [recorder.submit_events, *sinks])
    actions = AlarmActions(lifecycle, registry, store, service.dispatch, **extra)
    api = AlarmApi(actions, token=API_TOKEN, open_prefixes=(RESPOND_PREFIX,))
    api.extend(ResponseDesk(links, actions).add_routes)
    service.url = await api.start(port=port)
    try:
        yield service
    finally:
        await api.stop()
        store.close()
