"""Helpers for the MQTT tests: a source running in the background, waiting, and reading metrics."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import numpy as np

from collector.sources.mqtt.source import MqttSource
from hazwatch.batch import ReadingBatch
from tests.support.waiting import metric, wait_until


class RunningSource:
    """An MqttSource on its own event loop in a background thread, keeping every batch it emits."""

    def __init__(self, source: MqttSource) -> None:
        self.source = source
        self._batches: list[ReadingBatch] = []
        self.refused: list[int] = []
        """Slot of every value the source reported refused (for health.bad_value)."""
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _collect(
        self, batch: ReadingBatch, refused: np.ndarray | None = None, on_durable: Callable[[], None] | None = None
    ) -> None:
        with self._lock:
            if len(batch):
                self._batches.append(batch)
            if refused is not None:
                self.refused += refused.tolist()
        if on_durable is not None:
            on_durable()

    def start(self) -> RunningSource:
        self._thread.start()
        started = threading.Event()

        def create() -> None:
            self._task = self._loop.create_task(self.source.run(self._collect))
            started.set()

        self._loop.call_soon_threadsafe(create)
        started.wait(5)
        return self

    def stop(self) -> None:
        """Cancel the source (it disconnects, leaving its session on the broker) and stop the loop."""
        done = threading.Event()

        def cancel() -> None:
            assert self._task is not None
            self._task.cancel()
            self._task.add_done_callback(lambda _: done.set())

        self._loop.call_soon_threadsafe(cancel)
        assert done.wait(10), "source did not stop"
        if not self._task.cancelled() and self._task.exception() is not None:
            raise self._task.exception()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def readings(self) -> ReadingBatch:
        with self._lock:
            return ReadingBatch.concat(list(self._batches))

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def connected(self) -> bool:
        return metric("hazwatch_mqtt_connected", source=self.source.name) == 1.0

    def wait_for_slots(self, slots: np.ndarray, since_ns: int = 0, timeout: float = 10.0) -> ReadingBatch:
        """Wait until every slot has a reading stamped at or after `since_ns`; return those readings."""

        def arrived() -> bool:
            batch = self.readings()
            return bool(np.isin(slots, batch.slot[batch.time_ns >= since_ns]).all())

        wait_until(arrived, timeout, f"readings of {len(slots)} sensors")
        batch = self.readings()
        return batch.take(batch.time_ns >= since_ns)
