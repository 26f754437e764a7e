"""The write-ahead log of everything bound for InfluxDB: on disk before hazwatch acknowledges it.

Every reading batch, alarm event and self-metric line the InfluxSink is given is appended here
first. One committer thread does group commit: it takes whatever was appended since its last
round, encodes it to line protocol, writes it to the open segment and (with `fsync: always`)
fsyncs before it releases the `when_durable` callbacks of that round (the MQTT acknowledgements).
Rounds follow each other back to back, so a reading is durable one encode + write + fsync after
it arrived, never more than `commit_interval` later than the round before it would have allowed.

The log is one logical byte stream cut into segment files named by the offset of their first
byte. The sender reads it from the checkpoint (the offset up to which InfluxDB confirmed
everything) and moves the checkpoint on once InfluxDB accepted a request; whole segments behind
it are deleted. Recent chunks are also kept in a memory cache, so the sender normally never reads
the disk; after a restart, or behind a long outage, it reads the segments.

Bounds and overflow: at most `max_bytes` of segments. Beyond that the oldest segment is dropped,
its alarm lines copied to the head of the log first (alarms are never the thing dropped), and the
dropped readings are counted. When a write fails (disk full) the chunks stay in memory, the
callbacks are released at once (detection and alarms go on; durability is reported lost by
`disk_error` and the metrics) and the write is retried every round; readings beyond
`memory_points` waiting for the disk are dropped oldest first, alarm lines never.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.storage.schema import ALARMS

log = logging.getLogger("hazwatch.wal")

_SUFFIX = ".wal"
_CHECKPOINT = "checkpoint"
_ALARM_PREFIX = ALARMS.encode() + b","

Encode = Callable[[object], bytes]


@dataclass(slots=True)
class _Chunk:
    start: int
    data: bytes
    points: int
    precious: bool
    """Holds alarm lines: never dropped to make room."""
    written: bool = False

    @property
    def end(self) -> int:
        return self.start + len(self.data)


@dataclass(slots=True)
class _Segment:
    start: int
    size: int
    points: int

    @property
    def end(self) -> int:
        return self.start + self.size

    def path(self, directory: Path) -> Path:
        return directory / f"{self.start:020d}{_SUFFIX}"


@dataclass(frozen=True, slots=True)
class Read:
    data: bytes
    points: int
    start: int
    """Offset of `data` in the log (past any gap left by dropped chunks)."""
    end: int


@dataclass(slots=True)
class _Pending:
    item: object
    points: int
    precious: bool
    waiters: list[Callable[[], None]] = field(default_factory=list)


class WriteAheadLog:
    """Append from the event loop, commit in one thread, read and checkpoint from the sender."""

    def __init__(
        self,
        directory: Path | str,
        encode: Encode,
        *,
        fsync: bool = True,
        commit_interval: float = 0.05,
        max_bytes: int = 2 * 1024**3,
        segment_bytes: int = 64 * 1024**2,
        memory_points: int = 500_000,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._encode = encode
        self._fsync = fsync
        self._commit_interval = commit_interval
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes
        self._memory_points = memory_points
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[_Pending] = []
        self._idle = threading.Condition(self._lock)
        self._cache: deque[_Chunk] = deque()
        self._cache_points = 0
        self._segments: deque[_Segment] = deque()
        self._handle = None
        self._end = 0
        """Logical offset where the next chunk starts."""
        self.checkpoint = 0
        self.pending_points = 0
        """Points appended and not yet confirmed by InfluxDB (memory and disk)."""
        self.dropped_points = 0
        self.disk_error: OSError | None = None
        self._stopped = False
        self._busy = False
        self._errors = RateLimitedLog(log)
        self._recover()
        self._thread = threading.Thread(target=self._commit_forever, name="hazwatch-wal", daemon=True)
        self._thread.start()

    # recovery -------------------------------------------------------------------------------

    def _recover(self) -> None:
        checkpoint_file = self.directory / _CHECKPOINT
        try:
            self.checkpoint = int(checkpoint_file.read_text().strip() or 0)
        except (OSError, ValueError):
            self.checkpoint = 0
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            data = path.read_bytes()
            whole = data.rfind(b"\n") + 1
            if whole < len(data):  # a torn last write (power cut): keep the whole lines
                with open(path, "r+b") as handle:
                    handle.truncate(whole)
                data = data[:whole]
            segment = _Segment(int(path.stem), whole, 0)
            if segment.end <= self.checkpoint or whole == 0:
                path.unlink()
                continue
            skip = max(0, self.checkpoint - segment.start)
            segment.points = _count_lines(data[skip:])
            self._segments.append(segment)
        self._end = max(self.checkpoint, self._segments[-1].end if self._segments else 0)
        self.pending_points = sum(s.points for s in self._segments)
        if self.pending_points:
            log.info("%d points in the write-ahead log %s wait for InfluxDB", self.pending_points, self.directory)
        self._update_gauges()

    # appending (event loop) --------------------------------------------------------------------

    def append(self, item: object, points: int, *, precious: bool = False) -> None:
        """Queue `item` (a ReadingBatch or line-protocol bytes) for the next commit round."""
        with self._lock:
            self._pending.append(_Pending(item, points, precious))
            self.pending_points += points
            self._wake.notify()

    def when_durable(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from the committer thread) once everything appended so far is on disk."""
        with self._lock:
            if self._pending:
                self._pending[-1].waiters.append(callback)
                return
            if not self._busy:
                callback()
                return
            self._pending.append(_Pending(b"", 0, False, [callback]))
            self._wake.notify()

    def sync(self, timeout: float | None = None) -> None:
        """Block until every append so far went through a commit round (used on shutdown and in tests)."""
        with self._lock:
            self._idle.wait_for(lambda: not self._pending and not self._busy, timeout)

    # committing (the WAL thread) --------------------------------------------------------------

    def _commit_forever(self) -> None:
        while True:
            with self._lock:
                retry = any(not chunk.written for chunk in self._cache)
                self._wake.wait_for(lambda: self._pending or self._stopped, self._commit_interval if retry else None)
                if self._stopped and not self._pending:
                    self._idle.notify_all()
                    return
                round_, self._pending = self._pending, []
                self._busy = True
            try:
                self._commit(round_)
            except Exception:  # the committer must never die: alarms and acks depend on it
                log.exception("write-ahead log commit failed")
                for pending in round_:
                    for waiter in pending.waiters:
                        waiter()
            finally:
                with self._lock:
                    self._busy = False
                    self._idle.notify_all()

    def _commit(self, round_: list[_Pending]) -> None:
        self._add_chunks(round_)
        self._write_unwritten()
        self._enforce_bounds()
        self._update_gauges()
        for pending in round_:
            for waiter in pending.waiters:
                waiter()

    def _add_chunks(self, round_: list[_Pending]) -> None:
        """Encode the round into chunks: alarm lines on their own, consecutive readings merged."""
        parts: list[bytes] = []
        points = 0

        def close_readings() -> None:
            nonlocal parts, points
            if points:
                self._add_chunk(b"".join(parts), points, precious=False)
            parts, points = [], 0

        for pending in round_:
            if not pending.points:
                continue
            data = self._encode(pending.item)
            if pending.precious:
                close_readings()
                self._add_chunk(data, pending.points, precious=True)
            else:
                parts.append(data)
                points += pending.points
        close_readings()

    def _add_chunk(self, data: bytes, points: int, *, precious: bool) -> None:
        with self._lock:
            chunk = _Chunk(self._end, data, points, precious)
            self._end = chunk.end
            self._cache.append(chunk)
            self._cache_points += points

    def _write_unwritten(self) -> None:
        with self._lock:
            unwritten = [chunk for chunk in self._cache if not chunk.written]
        if not unwritten:
            return
        try:
            for chunk in unwritten:
                self._write(chunk)
            if self._fsync and self._handle is not None:
                os.fsync(self._handle.fileno())
        except OSError as exc:
            self._on_disk_error(exc)
            return
        if self.disk_error is not None:
            log.warning("write-ahead log %s writable again: every chunk kept in memory is on disk", self.directory)
            self.disk_error = None
            metrics.WAL_DISK_ERROR.set(0)

    def _write(self, chunk: _Chunk) -> None:
        current = self._segments[-1] if self._segments and self._handle is not None else None
        if current is None or current.end != chunk.start or current.size >= self._segment_bytes:
            self._roll(chunk.start)
            current = self._segments[-1]
        self._handle.write(chunk.data)
        self._handle.flush()
        with self._lock:
            current.size += len(chunk.data)
            current.points += chunk.points
            chunk.written = True

    def _roll(self, start: int) -> None:
        if self._handle is not None:
            if self._fsync:
                os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
        segment = _Segment(start, 0, 0)
        self._handle = open(segment.path(self.directory), "ab")  # noqa: SIM115 - kept open between rounds
        _fsync_directory(self.directory)
        with self._lock:
            self._segments.append(segment)

    def _on_disk_error(self, exc: OSError) -> None:
        if self._handle is not None:  # the segment may end in a torn line: start a fresh one next time
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
            self._truncate_torn_tail()
        if self.disk_error is None:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            log.error(
                "write-ahead log %s cannot be written (%s): %s; readings and alarms go on from memory",
                self.directory,
                "disk full" if full else "I/O error",
                exc,
            )
        self.disk_error = exc
        metrics.WAL_DISK_ERROR.set(1)

    def _truncate_torn_tail(self) -> None:
        if not self._segments:
            return
        segment = self._segments[-1]
        path = segment.path(self.directory)
        try:
            with open(path, "r+b") as handle:
                handle.truncate(segment.size)
        except OSError as exc:
            self._errors.error("truncate", "cannot trim %s after a failed write: %s", path, exc)

    def _enforce_bounds(self) -> None:
        """Keep the disk under `max_bytes` and the chunks waiting for the disk under `memory_points`."""
        while True:
            with self._lock:
                on_disk = sum(s.size for s in self._segments)
                if on_disk <= self._max_bytes or len(self._segments) < 2:
                    break
                oldest = self._segments.popleft()
            self._drop_segment(oldest)
        with self._lock:
            waiting = [chunk for chunk in self._cache if not chunk.written]
            excess = sum(chunk.points for chunk in waiting) - self._memory_points
            for chunk in waiting:
                if excess <= 0:
                    break
                if chunk.precious:
                    continue
                self._cache.remove(chunk)
                self._cache_points -= chunk.points
                self._count_dropped(chunk.points)
                excess -= chunk.points
            while self._cache and self._cache[0].written and self._cache_points > self._memory_points:
                self._cache_points -= self._cache.popleft().points  # still on disk: read from there

    def _drop_segment(self, segment: _Segment) -> None:
        path = segment.path(self.directory)
        data = path.read_bytes()[max(0, self.checkpoint - segment.start) :]
        alarms = b"".join(line + b"\n" for line in data.split(b"\n") if line.startswith(_ALARM_PREFIX))
        alarm_points = alarms.count(b"\n")
        readings = _count_lines(data) - alarm_points
        path.unlink(missing_ok=True)
        with self._lock:
            self.checkpoint = max(self.checkpoint, segment.end)
            while self._cache and self._cache[0].end <= self.checkpoint:
                self._cache_points -= self._cache.popleft().points
        self._count_dropped(readings)
        if alarm_points:  # moved, not dropped: still pending
            self._add_chunk(alarms, alarm_points, precious=True)
            self._write_unwritten()
        self._errors.error(
            "overflow",
            "write-ahead log %s over its bound of %d bytes: dropped the oldest %d readings (kept %d alarm lines)",
            self.directory,
            self._max_bytes,
            readings,
            alarm_points,
        )

    def _count_dropped(self, points: int) -> None:
        self.dropped_points += points
        self.pending_points -= points
        metrics.WAL_POINTS_DROPPED.inc(points)

    # reading and checkpointing (the sender) ---------------------------------------------------

    def read(self, offset: int, max_points: int) -> Read:
        """Up to `max_points` whole lines from `offset` on (from memory when cached, else from disk)."""
        with self._lock:
            offset = max(offset, self.checkpoint)
            if self._cache and offset >= self._cache[0].start:
                return self._read_cache(offset, max_points)
            segment = next((s for s in self._segments if s.end > offset), None)
            if segment is None:
                if self._cache:
                    return self._read_cache(self._cache[0].start, max_points)
                return Read(b"", 0, offset, offset)
            offset = max(offset, segment.start)
            limit = segment.end
            if self._cache:
                limit = min(limit, self._cache[0].start)
        return self._read_segment(segment, offset, limit, max_points)

    def _read_cache(self, offset: int, max_points: int) -> Read:
        parts: list[bytes] = []
        points = 0
        start: int | None = None
        end = offset
        for chunk in self._cache:
            if chunk.end <= offset:
                continue
            if start is None:
                start = end = max(offset, chunk.start)
            elif chunk.start != end:
                break  # a gap (dropped chunk): the next read starts past it
            data = chunk.data[end - chunk.start :]
            lines = _count_lines(data)
            if points + lines > max_points:
                data, lines = _first_lines(data, max_points - points)
            parts.append(data)
            points += lines
            end += len(data)
            if points >= max_points:
                break
        if start is None:
            return Read(b"", 0, offset, offset)
        return Read(b"".join(parts), points, start, end)

    def _read_segment(self, segment: _Segment, offset: int, limit: int, max_points: int) -> Read:
        path = segment.path(self.directory)
        want = limit - offset
        with open(path, "rb") as handle:
            handle.seek(offset - segment.start)
            data = handle.read(min(want, max_points * 512))
        data, points = _first_lines(data, max_points)
        if points == 0 and want > 0:  # one line longer than the guess: read it whole
            with open(path, "rb") as handle:
                handle.seek(offset - segment.start)
                data, points = _first_lines(handle.read(want), max_points)
        return Read(data, points, offset, offset + len(data))

    def confirm(self, end: int, points: int) -> None:
        """InfluxDB accepted everything before `end` (`points` of it since the last confirm)."""
        with self._lock:
            if end <= self.checkpoint:
                return
            self.checkpoint = end
            self.pending_points -= points
            left = points
            for segment in self._segments:  # the confirmed points were the oldest on disk
                if left <= 0 or segment.start >= end:
                    break
                taken = min(segment.points, left)
                segment.points -= taken
                left -= taken
            while self._cache and self._cache[0].end <= end and self._cache[0].written:
                self._cache_points -= self._cache.popleft().points
            tail = self._segments[-1] if self._segments else None
            finished = [s for s in self._segments if s.end <= end and (s is not tail or self._idle_tail())]
            for segment in finished:
                self._segments.remove(segment)
                if segment.end == self._end and self._handle is not None:
                    self._handle.close()
                    self._handle = None
        for segment in finished:
            segment.path(self.directory).unlink(missing_ok=True)
        self._write_checkpoint()
        self._update_gauges()

    def _idle_tail(self) -> bool:
        """The newest segment may go only when nothing is being or waiting to be written after it."""
        return not self._busy and not self._pending and all(chunk.written for chunk in self._cache)

    def _write_checkpoint(self) -> None:
        target = self.directory / _CHECKPOINT
        partial = self.directory / f"{_CHECKPOINT}.partial"
        try:
            partial.write_text(str(self.checkpoint))
            partial.replace(target)
        except OSError as exc:  # a lost checkpoint only means InfluxDB gets some points twice (idempotent)
            self._errors.warning("checkpoint", "cannot write the WAL checkpoint %s: %s", target, exc)

    @property
    def spooled_points(self) -> int:
        """Points on disk that InfluxDB has not confirmed."""
        return sum(s.points for s in self._segments)

    def close(self) -> None:
        """Commit what was appended, then stop the thread and close the segment."""
        with self._lock:
            self._stopped = True
            self._wake.notify()
        self._thread.join()
        if self._handle is not None:
            try:
                if self._fsync:
                    os.fsync(self._handle.fileno())
                self._handle.close()
            except OSError as exc:
                log.error("cannot close the write-ahead log %s: %s", self.directory, exc)
            self._handle = None
        lost = sum(chunk.points for chunk in self._cache if not chunk.written)
        if lost:
            log.error("%d points could not be written to the write-ahead log before shutdown: lost", lost)

    def _update_gauges(self) -> None:
        metrics.INFLUX_SPOOL_POINTS.set(self.spooled_points)


def _count_lines(data: bytes) -> int:
    return data.count(b"\n")


def _first_lines(data: bytes, count: int) -> tuple[bytes, int]:
    """The first `count` whole lines of `data` (fewer if it holds fewer)."""
    if count <= 0:
        return b"", 0
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    if len(ends) == 0:
        return b"", 0
    last = min(count, len(ends)) - 1
    return data[: int(ends[last]) + 1], last + 1


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
