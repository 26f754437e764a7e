"""The console's live feed: an EventSink on the same event stream the webhooks use.

Every alarm event wakes the open browser pages (server-sent events) so they re-render without reloading; the
feed also remembers who acknowledged each alarm, the recent events for the history view, and the last day of
activations for the KPI panel.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence

from detectors.alarms.kpi import AlarmKpis, KpiRecord, compute_kpis, kpi_record
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent, Transition

NS = 1_000_000_000
KPI_WINDOW_S = 86_400.0
HISTORY = 500
SUBSCRIBER_BACKLOG = 64


class ConsoleFeed:
    def __init__(self, registry: SensorRegistry, clock: Callable[[], int] = time.time_ns) -> None:
        self.registry = registry
        self.clock = clock
        self.acked_by: dict[tuple[int, str], str] = {}
        self.history: deque[AlarmEvent] = deque(maxlen=HISTORY)
        self._records: deque[KpiRecord] = deque()
        self._subscribers: set[asyncio.Queue[AlarmEvent]] = set()

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        for event in events:
            key = (event.slot, event.rule)
            if event.transition is Transition.ACK:
                self.acked_by[key] = str(event.extra.get("user") or "")
            elif event.transition in (Transition.RAISE, Transition.CLEAR, Transition.RESET):
                self.acked_by.pop(key, None)
            self.history.appendleft(event)
            self._records.append(kpi_record(event, self.registry))
            for queue in self._subscribers:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[AlarmEvent]:
        """A queue of the events from now on; a page that falls behind loses the oldest (it re-reads all anyway)."""
        queue: asyncio.Queue[AlarmEvent] = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[AlarmEvent]) -> None:
        self._subscribers.discard(queue)

    def kpis(self) -> AlarmKpis:
        now = self.clock()
        start = now - int(KPI_WINDOW_S * NS)
        while self._records and self._records[0].time_ns < start:
            self._records.popleft()
        return compute_kpis(self._records, start_ns=start, end_ns=now)

    async def run(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()
