"""InfluxSink: readings and alarm events to InfluxDB, batched, durable before acknowledged, never lost.

`submit` only appends to the write-ahead log (collector/storage/wal.py), so collection and
detection never wait for the database or the disk. The log's committer thread encodes and
writes it to disk in group commits; a background task sends what the log holds, oldest first, in
requests of thousands of points, and moves the log's checkpoint on once InfluxDB accepted them.
Recent data is served from the log's memory cache; after a restart or a long outage it is read
back from the segments on disk. So one mechanism carries both the normal path and the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import numpy as np
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_random_exponential

from collector.storage.influx_v1 import StatementError, V1Writer
from collector.storage.influx_v2 import V2Writer
from collector.storage.wal import Read, WriteAheadLog
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
"""Readings per encoder call. Encoding runs in the write-ahead log's thread but holds the GIL for the
whole of one call, so a call over a 250k-point batch stalled the MQTT thread (and the alarms behind it)
for a quarter of a second; ~2 ms per call lets the other threads in between."""


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
        self._wal = WriteAheadLog(
            settings.spool_dir,
            self._encode,
            fsync=settings.wal_fsync == "always",
            commit_interval=settings.wal_commit_interval,
            max_bytes=settings.wal_max_bytes,
            memory_points=settings.queue_max_points,
        )
        self._sent = self._wal.checkpoint
        self._unsent = 0
        """Points appended since the last flush started: wakes the sender once a batch is ready."""
        self._wake = asyncio.Event()
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
        """Points not yet stored in InfluxDB (in the write-ahead log, on disk or still in memory)."""
        return self._wal.pending_points

    @property
    def spooled(self) -> int:
        """Points on disk that InfluxDB has not confirmed yet."""
        return self._wal.spooled_points

    @property
    def disk_error(self) -> OSError | None:
        """Why the write-ahead log cannot be written (disk full), or None while it can."""
        return self._wal.disk_error

    def submit(self, batch: ReadingBatch) -> None:
        if len(batch):
            self._append(batch, len(batch), precious=False)

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        if events:
            self._append(self._alarms.encode(events), len(events), precious=True)

    def submit_lines(self, data: bytes) -> None:
        """Already-encoded line protocol (self-metrics, alarm KPIs), queued in order with the readings."""
        points = data.count(b"\n")
        if points:
            self._append(data, points, precious=False)

    def when_durable(self, callback: Callable[[], None]) -> None:
        """Run `callback` (in the log's thread) once everything submitted so far is on disk."""
        self._wal.when_durable(callback)

    def _append(self, item: ReadingBatch | bytes, points: int, *, precious: bool) -> None:
        self._wal.append(item, points, precious=precious)
        self._unsent += points
        if self._unsent >= self.settings.batch_size:
            self._wake.set()
        self._update_gauges()

    def _encode(self, item: object) -> bytes:
        """Runs in the log's thread, in short calls so the other threads get the GIL in between."""
        if not isinstance(item, ReadingBatch):
            return item
        return b"".join(
            self._readings.encode(item.take(slice(start, start + ENCODE_CHUNK)))
            for start in range(0, len(item), ENCODE_CHUNK)
        )

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
                "InfluxDB config does not match the server: %s; keeping %d points (%d on disk) until it is fixed",
                error,
                self.backlog,
                self._wal.spooled_points,
            )
            return
        self._rate_limited.warning(
            "unreachable",
            "InfluxDB %s not writable (%s); keeping %d points (%d on disk), retrying",
            self.writer.description,
            state.outcome.exception() if state.outcome else "?",
            self.backlog,
            self._wal.spooled_points,
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
        """Send everything committed to the log now, oldest first; with retry, wait out an outage."""
        self._unsent = 0
        while True:
            read: Read = await asyncio.to_thread(self._wal.read, self._sent, self.settings.batch_size)
            if read.points == 0:
                return
            await self._send(read.data, read.points, retry=retry)
            await asyncio.to_thread(self._wal.confirm, read.end, read.points)
            self._sent = read.end
            self._update_gauges()

    async def send_held(self, timeout: float) -> None:
        """Send what the log held from before a restart, before the worker's warm-up reads InfluxDB back: readings
        that were detected and acknowledged but not yet stored at a kill -9 are then replayed too. Gives up
        after `timeout` or at the first failure (they stay in the log, sent once `run` goes)."""
        try:
            async with asyncio.timeout(timeout):
                if not self.prepared:
                    await self._prepare()
                await self.flush(retry=False)
        except (TransientWriteError, TimeoutError, OSError) as exc:
            self._rate_limited.warning("held", "held readings not sent before the warm-up (%r)", exc)

    async def run(self) -> None:
        """Flush until cancelled; the pipeline may call it twice (once as reading sink, once as event sink)."""
        if self._running:
            await asyncio.Event().wait()
        self._running = True
        await self._prepare()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.flush_interval):
                    await self._wake.wait()
            self._wake.clear()
            if not self.prepared:
                await self._prepare()
            try:
                await self.flush()
            except OSError as exc:  # the log's disk failing a read: keep trying, never let the sender die
                self._rate_limited.error("read", "cannot read the write-ahead log %s: %s", self._wal.directory, exc)

    async def close(self) -> None:
        """Send what the database takes within `close_timeout`; the rest stays in the log for the next start."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._wal.sync)
        try:
            async with asyncio.timeout(self._close_timeout):
                await self.flush(retry=False)
        except (TransientWriteError, TimeoutError) as exc:
            log.warning("InfluxDB %s down at shutdown (%s): the rest waits in the WAL", self.writer.description, exc)
        await asyncio.to_thread(self._wal.close)
        if self._wal.pending_points:
            log.info("%d points wait in the write-ahead log %s for InfluxDB", self.backlog, self._wal.directory)
        await self.writer.aclose()

    def _update_gauges(self) -> None:
        metrics.INFLUX_QUEUE_POINTS.set(max(0, self.backlog - self._wal.spooled_points))
