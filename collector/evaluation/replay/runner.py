"""The replay runner: feeds reading chunks to a detector stack in data time, as fast as possible or paced.

Rows are taken in file (arrival) order and cut into batches by the data clock — the newest
timestamp seen so far — so a back-filled reading reaches the detectors as late as it reached the
collector. Between batches the detectors are ticked on the same clock (dead-man, delays), which
makes a replay a pure function of the file and the config: same input, same alarms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from collector.pipeline.protocols import Detector
from hazwatch.batch import ReadingBatch
from hazwatch.events import AlarmEvent

NS = 1_000_000_000
MAX_GAP_TICKS = 3600
"""A gap in the data longer than this many ticks is ticked only over its last part."""
READINGS_PER_BATCH = 64
"""Auto batches hold about this many readings of the fastest sensor: the stack's fixed cost per batch (~0.2 ms)
would otherwise dominate slow data (five-minute data in one-second batches ran at ~250 readings/s)."""


def cadence_s(intervals: dict[int, float]) -> float:
    """The tick of a replay: the fastest sensor's median reading interval, at least one second.

    The dead-man and delays need no finer clock than the data has; ticking every second of five-minute
    data cost 300 ticks per reading.
    """
    finite = [v for v in intervals.values() if v > 0]
    return max(1.0, min(finite)) if finite else 1.0


def auto_batch_s(tick_s: float) -> float:
    """One second for 1 Hz data (as before); READINGS_PER_BATCH readings of the fastest sensor for slower data."""
    return 1.0 if tick_s <= 1.0 else tick_s * READINGS_PER_BATCH


@dataclass
class ReplayResult:
    events: list[AlarmEvent] = field(default_factory=list)
    readings: int = 0
    batches: int = 0
    wall_s: float = 0.0
    first_ns: int | None = None
    last_ns: int | None = None

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def data_s(self) -> float:
        return 0.0 if self.first_ns is None or self.last_ns is None else (self.last_ns - self.first_ns) / NS


class ReplayRunner:
    def __init__(
        self,
        detector: Detector,
        *,
        batch_s: float = 1.0,
        tick_s: float = 1.0,
        speed: float | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`speed` None replays as fast as possible; N paces data time at N× the wall clock."""
        self.detector = detector
        self.batch_ns = max(int(batch_s * NS), 1)
        self.tick_ns = max(int(tick_s * NS), 1)
        self.speed = speed
        self.on_progress = on_progress
        self.sleep = sleep
        self.result = ReplayResult()
        self._clock_ns: int | None = None
        self._next_tick_ns: int | None = None
        self._pending: list[ReadingBatch] = []
        self._pending_window: int | None = None
        self._wall_start = 0.0

    def run(self, chunks: Iterable[ReadingBatch]) -> ReplayResult:
        self._wall_start = time.perf_counter()
        for chunk in chunks:
            self.feed(chunk)
        self.finish()
        return self.result

    def feed(self, chunk: ReadingBatch) -> None:
        if not len(chunk):
            return
        if self.result.first_ns is None:
            self._wall_start = self._wall_start or time.perf_counter()
            self.result.first_ns = int(chunk.time_ns[0])
            self._clock_ns = int(chunk.time_ns[0])
        clock = np.maximum.accumulate(np.maximum(chunk.time_ns, self._clock_ns))
        self._clock_ns = int(clock[-1])
        window = clock // self.batch_ns
        cuts = np.flatnonzero(np.diff(window)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [len(chunk)]))
        for start, end in zip(starts, ends, strict=True):
            w = int(window[start])
            if self._pending_window is not None and w != self._pending_window:
                self._flush()
            self._pending.append(chunk.take(slice(start, end)))
            self._pending_window = w
        self.result.readings += len(chunk)
        if self.on_progress is not None:
            self.on_progress(len(chunk), self._clock_ns)

    def finish(self) -> None:
        self._flush()
        self.result.last_ns = self._clock_ns
        self.result.wall_s = time.perf_counter() - self._wall_start

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = ReadingBatch.concat(self._pending)
        window_ns = self._pending_window * self.batch_ns
        self._pending = []
        self._tick_until(window_ns)
        self._pace(window_ns)
        self.result.events += self.detector.update(batch)
        self.result.batches += 1

    def _tick_until(self, now_ns: int) -> None:
        if self._next_tick_ns is None:
            self._next_tick_ns = now_ns + self.tick_ns
            return
        due = (now_ns - self._next_tick_ns) // self.tick_ns + 1
        if due <= 0:
            return
        if due > MAX_GAP_TICKS:
            self._next_tick_ns += (due - MAX_GAP_TICKS) * self.tick_ns
        while self._next_tick_ns <= now_ns:
            self.result.events += self.detector.tick(self._next_tick_ns)
            self._next_tick_ns += self.tick_ns

    def _pace(self, data_ns: int) -> None:
        if self.speed is None or self.result.first_ns is None:
            return
        target = self._wall_start + (data_ns - self.result.first_ns) / NS / self.speed
        delay = target - time.perf_counter()
        if delay > 0:
            self.sleep(delay)
