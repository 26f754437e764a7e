"""An on-disk spool of line protocol: what InfluxDB could not take yet, kept across restarts.

Each spill becomes one segment file, named by a rising sequence number, written to a temporary
name, fsync'd and renamed into place, so a crash leaves either a whole segment or none. Segments
are never rewritten: the reader keeps its position in the oldest segment in memory and deletes
the file once every line of it was delivered. After a crash the oldest segment is sent again from
its start; InfluxDB stores a point with the same series and timestamp once, so a replayed line
overwrites itself instead of duplicating.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_SUFFIX = ".lp"
_PARTIAL = ".partial"


@dataclass
class _Segment:
    path: Path
    points: int


class Spool:
    """Ordered line-protocol segments in one folder; `peek`/`consume` read them oldest first."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        for leftover in self.directory.glob(f"*{_PARTIAL}"):
            leftover.unlink()
        self._segments: deque[_Segment] = deque(
            _Segment(path, path.read_bytes().count(b"\n")) for path in sorted(self.directory.glob(f"*{_SUFFIX}"))
        )
        self._next_sequence = int(self._segments[-1].path.stem) + 1 if self._segments else 0
        self._head_data: bytes | None = None
        self._head_line_ends: np.ndarray | None = None
        self._head_cursor = 0
        self.points = sum(segment.points for segment in self._segments)
        self._lock = threading.Lock()
        """`append` runs in a worker thread while the event loop consumes: guard the bookkeeping."""

    def __len__(self) -> int:
        return self.points

    def append(self, data: bytes) -> None:
        """Persist newline-terminated lines as the newest segment (durable when this returns)."""
        points = data.count(b"\n")
        if points == 0:
            return
        with self._lock:
            final = self.directory / f"{self._next_sequence:020d}{_SUFFIX}"
            self._next_sequence += 1
        partial = final.with_suffix(_PARTIAL)
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.rename(final)
        self._fsync_directory()
        with self._lock:
            self._segments.append(_Segment(final, points))
            self.points += points

    def peek(self, max_points: int) -> tuple[bytes, int]:
        """The oldest undelivered lines, at most `max_points` of them and never across a segment end."""
        if not self._segments:
            return b"", 0
        if self._head_data is None:
            self._head_data = self._segments[0].path.read_bytes()
            self._head_line_ends = np.flatnonzero(np.frombuffer(self._head_data, dtype=np.uint8) == ord("\n"))
            self._head_cursor = 0
        ends = self._head_line_ends
        start = 0 if self._head_cursor == 0 else int(ends[self._head_cursor - 1]) + 1
        last = min(self._head_cursor + max_points, len(ends)) - 1
        return self._head_data[start : int(ends[last]) + 1], last + 1 - self._head_cursor

    def consume(self, points: int) -> None:
        """Mark the first `points` lines returned by `peek` as delivered."""
        if points <= 0 or not self._segments:
            return
        if self._head_data is None:
            self.peek(points)
        self._head_cursor += points
        with self._lock:
            self.points -= points
            finished = self._segments.popleft() if self._head_cursor >= len(self._head_line_ends) else None
        if finished is not None:
            finished.path.unlink(missing_ok=True)
            self._fsync_directory()
            self._head_data = None
            self._head_line_ends = None
            self._head_cursor = 0

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
