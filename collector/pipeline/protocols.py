"""What the pipeline connects: sources that emit batches, sinks for readings and for alarm events, and the
detector. Sources and sinks implement these structurally, so they depend on no pipeline code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from hazwatch.batch import ReadingBatch
from hazwatch.events import AlarmEvent


class Emit(Protocol):
    def __call__(
        self, batch: ReadingBatch, refused: np.ndarray | None = None, on_durable: Callable[[], None] | None = None
    ) -> None:
        """Hand decoded readings to the pipeline. `refused` holds the slot of each value the source refused for
        a sensor it could name (a boolean on a temperature, a NaN, ...), one entry per value: health.bad_value.
        `on_durable` runs (in any thread) once the batch is in the write-ahead log, after every batch emitted
        before it: the moment a source may acknowledge it upstream."""


class Journal(Protocol):
    def when_durable(self, callback: Callable[[], None]) -> None:
        """Run `callback` once everything submitted so far is durable."""


class Source(Protocol):
    name: str

    async def run(self, emit: Emit) -> None:
        """Read until cancelled, calling `emit` with each decoded batch; never raise for bad input."""


class ReadingSink(Protocol):
    def submit(self, batch: ReadingBatch) -> None:
        """Accept a batch without blocking (queue it)."""

    async def run(self) -> None:
        """Background work (flushing) until cancelled."""

    async def close(self) -> None:
        """Flush what is buffered; called once on shutdown."""


class EventSink(Protocol):
    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        """Accept alarm events without blocking."""

    async def run(self) -> None: ...

    async def close(self) -> None: ...


class Detector(Protocol):
    def update(self, batch: ReadingBatch) -> list[AlarmEvent]: ...

    def refused(self, slots: np.ndarray, now_ns: int, cause: str) -> list[AlarmEvent]:
        """Readings of `slots` were refused before detection: `clock` (stamped outside the time window, by the
        intake check) or `value` (not a reading at all, by a source's decoder)."""

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        """Time-driven rules (dead-man, delays, shelving expiry) evaluated with no new readings."""
