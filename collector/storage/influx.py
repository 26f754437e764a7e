"""InfluxSink: readings and alarm events to InfluxDB, batched, and never lost while it is away.

`submit` only appends to an in-memory queue, so collection and detection never wait for the
database. A background task sends thousands of points per request. While InfluxDB is down the
queue grows to `queue_max_points`; beyond that its oldest half is spilled to the on-disk spool.
Order is kept by one invariant: the request in flight is older than everything in the spool,
and the spool is older than everything in memory, so data is sent in-flight → spool → memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

from collector.storage.influx_v1 import StatementError, V1Writer
from collector.storage.influx_v2 import V2Writer
from collector.storage.spool import Spool
from collector.storage.writer import InfluxWriter, PayloadTooLarge, ServerMismatch, TransientWriteError, WriteResult
from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from hazwatch.events import AlarmEvent
from hazwatch.storage.lineprotocol import AlarmEncoder, ReadingEncoder

log = logging.getLogger("hazwatch.influx")

ENCODE_CHUNK = 2_000
"""Readings per encoder call. Encoding runs in a worker thread but holds the GIL for the whole of one
call, so a call over a 250k-point spill stalled the MQTT thread (and the alarms behind it) for a
quarter of a second; ~2 ms per call lets the other threads in between."""


@dataclass(frozen=True, slots=True)
class _Lines:
    """Already-encoded lines (alarm events) waiting in the memory queue."""

    data: bytes
    points: int


@dataclass(slots=True)
class _Payload:
    data: bytes
    points: int
    in_spool: bool
    """True when these lines are the head of the spool (consume them there once delivered)."""


def make_writer(settings: InfluxSettings) -> InfluxWriter:
    return V2Writer(settings) if settings.api == "v2" else V1Writer(settings)


def split_lines(data: bytes, first_points: int) -> tuple[bytes, bytes]:
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    cut = int(ends[first_points - 1]) + 1
    return data[:cut], data[cut:]


class InfluxSink:
    """A ReadingSink and EventSink for the `readings` and `alarms` measurements (docs/storage.md)."""

    def __init__(
        self,
        settings: InfluxSettings,
        registry: SensorRegistry,
        writer: InfluxWriter | None = None,
        *,
        retry_initial: float = 0.2,
        retry_max: float = 5.0,
        close_timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.writer = writer or make_writer(settings)
        self._readings = ReadingEncoder(registry)
        self._alarms = AlarmEncoder(registry)
        self._memory: deque[ReadingBatch | _Lines] = deque()
        self._memory_points = 0
        self._spool = Spool(settings.spool_dir)
        self._inflight: _Payload | None = None
        self._order = asyncio.Lock()
        """Held while choosing the next payload or spilling, so neither sees the other half-done."""
        self._wake = asyncio.Event()
        self._spill_task: asyncio.Task | None = None
        self.prepared = False
        """True once the database, its policies and the statistics query were set up (or could not be)."""
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._close_timeout = close_timeout
        self._rate_limited = RateLimitedLog(log)
        self._running = False
        self._closed = False
        self._update_gauges()

    @property
    def backlog(self) -> int:
        """Points not yet stored: in flight, in memory and in the spool."""
        inflight = self._inflight.points if self._inflight and not self._inflight.in_spool else 0
        return inflight + self._memory_points + self._spool.points

    @property
    def spooled(self) -> int:
        """Points waiting on disk."""
        return self._spool.points

    def submit(self, batch: ReadingBatch) -> None:
        if len(batch):
            self._enqueue(batch, len(batch))

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        if events:
            self._enqueue(_Lines(self._alarms.encode(events), len(events)), len(events))

    def submit_lines(self, data: bytes) -> None:
        """Already-encoded line protocol (self-metrics, alarm KPIs), queued in order with the readings."""
        points = data.count(b"\n")
        if points:
            self._enqueue(_Lines(data, points), points)

    def _enqueue(self, item: ReadingBatch | _Lines, points: int) -> None:
        self._memory.append(item)
        self._memory_points += points
        if self._memory_points > self.settings.queue_max_points and self._spill_task is None:
            self._spill_task = asyncio.get_running_loop().create_task(self._spill())
        if self._memory_points >= self.settings.batch_size:
            self._wake.set()
        self._update_gauges()

    def _pop_memory(self, max_points: int) -> tuple[list[ReadingBatch | _Lines], int]:
        """Remove the oldest items holding at most `max_points` (a batch is split; events are whole)."""
        items: list[ReadingBatch | _Lines] = []
        taken = 0
        while self._memory and taken < max_points:
            item = self._memory[0]
            room = max_points - taken
            if isinstance(item, ReadingBatch) and len(item) > room:
                items.append(item.take(slice(0, room)))
                self._memory[0] = item.take(slice(room, None))
                taken += room
                break
            self._memory.popleft()
            items.append(item)
            taken += len(item) if isinstance(item, ReadingBatch) else item.points
        self._memory_points -= taken
        return items, taken

    def _encode(self, items: list[ReadingBatch | _Lines]) -> bytes:
        parts: list[bytes] = []
        for item in items:
            if isinstance(item, _Lines):
                parts.append(item.data)
                continue
            for start in range(0, len(item), ENCODE_CHUNK):
                parts.append(self._readings.encode(item.take(slice(start, start + ENCODE_CHUNK))))
        return b"".join(parts)

    def _unpop_memory(self, items: list[ReadingBatch | _Lines], points: int) -> None:
        """Put popped items back at the head, as they were (their request was never built)."""
        self._memory.extendleft(reversed(items))
        self._memory_points += points

    async def _spill(self) -> None:
        """Move the oldest memory to the spool until half the bound is left (order kept, see module doc)."""
        try:
            async with self._order:
                payload = self._inflight
                if payload is not None and not payload.in_spool:
                    await asyncio.to_thread(self._spool.append, payload.data)
                    if self._inflight is payload:
                        payload.in_spool = True
                    else:  # delivered while it was being written: drop the spooled copy
                        self._spool.consume(payload.points)
                excess = self._memory_points - self.settings.queue_max_points // 2
                if excess > 0:
                    items, _ = self._pop_memory(excess)
                    data = await asyncio.to_thread(self._encode, items)
                    await asyncio.to_thread(self._spool.append, data)
                self._update_gauges()
        finally:
            self._spill_task = None

    async def _next_payload(self) -> _Payload | None:
        async with self._order:
            if self._spool.points:
                data, points = self._spool.peek(self.settings.batch_size)
                return _Payload(data, points, in_spool=True)
            if self._memory_points:
                items, points = self._pop_memory(self.settings.batch_size)
                try:  # off the event loop: ~10 ms per 10k points that detection and webhooks need
                    data = await asyncio.to_thread(self._encode, items)
                except asyncio.CancelledError:
                    self._unpop_memory(items, points)
                    raise
                return _Payload(data, points, in_spool=False)
        return None

    def _commit(self, payload: _Payload) -> None:
        if payload.in_spool:
            self._spool.consume(payload.points)
        self._inflight = None
        self._update_gauges()

    def _account(self, points: int, result: WriteResult) -> None:
        metrics.INFLUX_POINTS_WRITTEN.inc(points - result.rejected)
        if result.rejected:
            metrics.INFLUX_WRITE_ERRORS.inc()
            metrics.INFLUX_POINTS_REJECTED.inc(result.rejected)
            self._rate_limited.error(
                "rejected",
                "InfluxDB refused %d of %d points as bad data: %s",
                result.rejected,
                points,
                result.error[:500],
            )

    def _on_retry(self, state: RetryCallState) -> None:
        metrics.INFLUX_WRITE_ERRORS.inc()
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ServerMismatch):
            self._rate_limited.error(
                "mismatch",
                "InfluxDB config does not match the server: %s; keeping %d points (spool %d) until it is fixed",
                error,
                self.backlog,
                self._spool.points,
            )
            return
        self._rate_limited.warning(
            "unreachable",
            "InfluxDB %s not writable (%s); keeping %d points (spool %d), retrying",
            self.writer.description,
            state.outcome.exception() if state.outcome else "?",
            self.backlog,
            self._spool.points,
        )

    async def _write_with_retry(self, data: bytes, points: int) -> WriteResult:
        retrying = AsyncRetrying(
            wait=wait_random_exponential(multiplier=self._retry_initial, max=self._retry_max),
            retry=retry_if_exception_type(TransientWriteError),
            before_sleep=self._on_retry,
            reraise=True,
        )
        return await retrying(self.writer.write, data, points)

    async def _send(self, data: bytes, points: int, *, retry: bool) -> None:
        """Deliver lines, halving requests the server finds too large."""
        try:
            if retry:
                result = await self._write_with_retry(data, points)
            else:
                result = await self.writer.write(data, points)
        except PayloadTooLarge as exc:
            if points <= 1:
                self._account(points, WriteResult(rejected=points, error=f"too large: {exc}"))
                return
            half = points // 2
            first, second = split_lines(data, half)
            await self._send(first, half, retry=retry)
            await self._send(second, points - half, retry=retry)
            return
        self._account(points, result)

    async def _prepare(self) -> None:
        try:
            await self.writer.prepare()
            self.prepared = True
        except ServerMismatch as exc:
            log.error("InfluxDB config does not match the server (readings are kept until it is fixed): %s", exc)
            self.prepared = True
        except TransientWriteError as exc:
            self._rate_limited.warning("prepare", "InfluxDB %s not reachable yet: %s", self.writer.description, exc)
        except StatementError as exc:
            log.error("cannot create the database on %s (writes go on): %s", self.writer.description, exc)
            self.prepared = True

    async def flush(self, *, retry: bool = True) -> None:
        """Send everything queued now (the one in flight first); with retry, wait out an outage."""
        while True:
            payload = self._inflight or await self._next_payload()
            if payload is None:
                return
            self._inflight = payload
            self._update_gauges()
            await self._send(payload.data, payload.points, retry=retry)
            self._commit(payload)

    async def run(self) -> None:
        """Flush until cancelled; the pipeline may call it twice (once as reading sink, once as event sink)."""
        if self._running:
            await asyncio.Event().wait()
        self._running = True
        await self._prepare()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.flush_interval)
            self._wake.clear()
            if not self.prepared:
                await self._prepare()
            await self.flush()

    async def close(self) -> None:
        """Send what the database takes within `close_timeout`; spool the rest, so nothing is lost."""
        if self._closed:
            return
        self._closed = True
        if self._spill_task is not None:
            await self._spill_task
        try:
            async with asyncio.timeout(self._close_timeout):
                await self.flush(retry=False)
        except (TransientWriteError, TimeoutError) as exc:
            log.warning("InfluxDB %s unavailable at shutdown (%s): spooling the rest", self.writer.description, exc)
        await self._persist()
        await self.writer.aclose()

    async def _persist(self) -> None:
        async with self._order:
            payload = self._inflight
            if payload is not None and not payload.in_spool:
                self._spool.append(payload.data)
            self._inflight = None
            items, points = self._pop_memory(self._memory_points)
            if points:
                self._spool.append(self._encode(items))
            self._update_gauges()
        if self._spool.points:
            log.info("%d points wait in the spool %s for InfluxDB", self._spool.points, self._spool.directory)

    def _update_gauges(self) -> None:
        metrics.INFLUX_QUEUE_POINTS.set(self.backlog - self._spool.points)
        metrics.INFLUX_SPOOL_POINTS.set(self._spool.points)
