"""The pipeline: sources -> detector stack -> sinks, on one asyncio loop.

Sources push ReadingBatches into a queue. The consumer runs the detectors on each batch and
hands alarm events to the event sinks *before* the readings go to storage, and no sink may
block: storage and dashboards can be down without delaying an alarm.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

from collector.pipeline.intake import IntakeCheck
from collector.pipeline.protocols import Detector, EventSink, Journal, ReadingSink, Source
from collector.telemetry import metrics
from hazwatch.batch import ReadingBatch
from hazwatch.events import AlarmEvent

log = logging.getLogger("hazwatch.pipeline")

SWITCH_INTERVAL_S = 0.001
"""How long a thread holding the GIL keeps it while another waits (Python's default: 5 ms). The MQTT thread
decodes and the write-ahead log's thread encodes in long Python runs; each time the loop wakes for a webhook's
socket it would wait up to that long per busy thread, and an alarm's delivery takes several wake-ups."""


def _report_failure(task: asyncio.Task) -> None:
    """A crashed source or sink is logged loudly; the others keep running (one failure never stalls the rest)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s stopped: %r", task.get_name(), task.exception(), exc_info=task.exception())


class Pipeline:
    def __init__(
        self,
        sources: Sequence[Source],
        detector: Detector,
        reading_sinks: Sequence[ReadingSink],
        event_sinks: Sequence[EventSink],
        tick_interval: float = 0.5,
        clock: Callable[[], int] = time.time_ns,
        intake: IntakeCheck | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.sources = list(sources)
        self.detector = detector
        self.reading_sinks = list(reading_sinks)
        self.event_sinks = list(event_sinks)
        self.tick_interval = tick_interval
        self.clock = clock
        self.intake = intake
        self.journal = journal
        """Where readings become durable (the InfluxSink's write-ahead log); sources acknowledge after it."""
        self._queue: asyncio.Queue[tuple[ReadingBatch, Callable[[], None] | None]] = asyncio.Queue()
        self._refused_values: list[np.ndarray] = []

    def emit(
        self, batch: ReadingBatch, refused: np.ndarray | None = None, on_durable: Callable[[], None] | None = None
    ) -> None:
        if refused is not None and len(refused):
            self._refused_values.append(refused)
        if len(batch) or refused is not None or on_durable is not None:
            self._queue.put_nowait((batch, on_durable))

    def dispatch(self, events: list[AlarmEvent]) -> None:
        """Hand events to every event sink (detector output and operator actions alike)."""
        if not events:
            return
        for sink in self.event_sinks:
            sink.submit_events(events)
        for event in events:
            metrics.ALARM_EVENTS.labels(event.category, event.transition.value).inc()

    def process(self, batch: ReadingBatch) -> None:
        """One batch through the intake check, the detectors, then to the sinks: alarms first, readings after."""
        refused = None
        if self.intake is not None:
            now_ns = self.clock()
            screened = self.intake.screen(batch, now_ns)
            batch, refused = screened.accepted, screened.clock_refused
        started = time.perf_counter()
        events = self.detector.update(batch)
        if refused is not None and len(refused):
            events += self.detector.refused(refused, now_ns, "clock")
        if self._refused_values:
            values = np.concatenate(self._refused_values)
            self._refused_values.clear()
            events += self.detector.refused(values, self.clock(), "value")
        metrics.DETECTOR_SECONDS.observe(time.perf_counter() - started)
        self.dispatch(events)
        if len(batch):
            metrics.DETECTOR_LAG_SECONDS.set((self.clock() - int(batch.time_ns.max())) / 1e9)
        for sink in self.reading_sinks:
            sink.submit(batch)

    def _process_queued(self, queued: list[tuple[ReadingBatch, Callable[[], None] | None]]) -> None:
        batch = ReadingBatch.concat([batch for batch, _ in queued if len(batch)])
        if len(batch) or self._refused_values:
            self.process(batch)
        for _, on_durable in queued:
            if on_durable is None:
                continue
            if self.journal is None:
                on_durable()
            else:
                self.journal.when_durable(on_durable)

    async def _consume(self) -> None:
        while True:
            queued = [await self._queue.get()]
            while not self._queue.empty():
                queued.append(self._queue.get_nowait())
            self._process_queued(queued)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self.dispatch(self.detector.tick(self.clock()))

    def _close_order(self) -> list[ReadingSink | EventSink]:
        """Each sink once, at its last place in readings-then-events order: a sink that feeds another
        (self-metrics and KPIs into storage) is listed before it and so flushes into it before it closes."""
        everything = [*self.reading_sinks, *self.event_sinks]
        return [sink for i, sink in enumerate(everything) if not any(sink is later for later in everything[i + 1 :])]

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then drain the queue and flush every sink."""
        tasks = [asyncio.create_task(source.run(self.emit), name=f"source:{source.name}") for source in self.sources]
        tasks += [asyncio.create_task(sink.run(), name="sink") for sink in (*self.reading_sinks, *self.event_sinks)]
        tasks += [
            asyncio.create_task(self._consume(), name="consume"),
            asyncio.create_task(self._tick(), name="tick"),
        ]
        for task in tasks:
            task.add_done_callback(_report_failure)
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
        try:
            await stop.wait()
        finally:
            sys.setswitchinterval(switch_interval)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            while not self._queue.empty():
                self._process_queued([self._queue.get_nowait()])
            for sink in self._close_order():
                await sink.close()
