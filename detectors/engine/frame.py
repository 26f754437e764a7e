"""A batch laid out as a (time step × sensor) matrix, so per-sensor state machines run column-wise in numpy.

Why: a batch may hold many time steps of many sensors. Rules that depend on the previous reading
(hysteresis, delays, stuck, spikes) are sequential per sensor but independent across sensors, so they
vectorise across columns and scan down rows (`np.maximum.accumulate`, `cumsum`). The layouts sources
actually produce — each slot once, or one poll cycle repeated (a time-major grid) — reshape without
copying; anything else is sorted by (slot, time) and padded, in chunks so one long back-fill of a single
sensor cannot blow the matrix up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hazwatch.batch import ReadingBatch
from hazwatch.quality import Quality

PAD = np.uint8(255)
"""Quality code of a padding cell: no reading there (never a GOOD one)."""

NEVER = np.int64(np.iinfo(np.int64).min // 4)
"""Time of 'no reading yet': far in the past but safe to subtract from."""

_CELLS_PER_READING = 4
"""Padding budget: a sorted frame may hold at most this many cells per real reading."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Readings of `slots` (the columns); each column is in time order, padding cells carry quality PAD."""

    slots: np.ndarray
    time: np.ndarray
    value: np.ndarray
    quality: np.ndarray
    all_good: bool
    """Every cell is a real GOOD reading with a number: rules may skip their masks."""
    span: slice | None = None
    """`slice(lo, hi)` when the columns are exactly slots lo..hi-1 in order (a full poll cycle, one site)."""

    @property
    def steps(self) -> int:
        return self.time.shape[0]

    @property
    def index(self) -> np.ndarray | slice:
        """What indexes per-slot state for these columns: a slice (views, no gather) when the slots are a span."""
        return self.span if self.span is not None else self.slots


@dataclass(frozen=True, slots=True)
class Series:
    """What process rules see: only GOOD readings; other cells repeat the column's previous good reading.

    A repeated cell has the same value and time as the one before it, so for time-weighted or
    run-length rules it changes nothing; rules that count readings use `fresh` (None: every cell fresh).
    Before a sensor's first good reading its cells are NaN at time NEVER.
    """

    slots: np.ndarray
    time: np.ndarray
    value: np.ndarray
    fresh: np.ndarray | None
    span: slice | None = None

    @property
    def steps(self) -> int:
        return self.time.shape[0]

    @property
    def index(self) -> np.ndarray | slice:
        return self.span if self.span is not None else self.slots


def frames_of(batch: ReadingBatch) -> Iterator[Frame]:
    """The batch as one or more frames; slots must be non-negative (the stack validates them)."""
    n = len(batch)
    if n == 0:
        return
    grid = _grid_frame(batch)
    if grid is not None:
        yield grid
        return
    yield from _sorted_frames(batch)


def _frame(
    slots: np.ndarray, time: np.ndarray, value: np.ndarray, quality: np.ndarray, span: slice | None = None
) -> Frame:
    all_good = not quality.any() and not bool(np.isnan(value).any())
    return Frame(slots, time, value, quality, all_good, span)


def span_of(slots: np.ndarray) -> slice | None:
    """slice(lo, hi) when `slots` is exactly lo, lo+1, …, hi-1."""
    lo, m = int(slots[0]), len(slots)
    if int(slots[-1]) - lo != m - 1:
        return None
    if m > 2 and not (np.diff(slots) == 1).all():
        return None
    return slice(lo, lo + m)


def _grid_frame(batch: ReadingBatch) -> Frame | None:
    """Each slot once, or k repeats of the same slot sequence with times not going back: a free reshape."""
    slot = batch.slot
    n = len(slot)
    repeats = np.flatnonzero(slot == slot[0])
    k = len(repeats)
    if n % k:
        return None
    m = n // k
    if k > 1 and not (repeats == np.arange(0, n, m)).all():
        return None
    slots2 = slot.reshape(k, m)
    time2 = batch.time_ns.reshape(k, m)
    if k > 1 and not ((slots2[1:] == slots2[0]).all() and (time2[1:] >= time2[:-1]).all()):
        return None
    columns = slots2[0]
    span = span_of(columns)
    if span is None and np.bincount(columns).max() > 1:
        return None
    return _frame(columns.astype(np.int64), time2, batch.value.reshape(k, m), batch.quality.reshape(k, m), span)


def _sorted_frames(batch: ReadingBatch) -> Iterator[Frame]:
    order = np.lexsort((batch.time_ns, batch.slot))
    slot = batch.slot[order].astype(np.int64)
    time = batch.time_ns[order]
    value = batch.value[order]
    quality = batch.quality[order]
    n = len(slot)
    starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
    counts = np.diff(np.r_[starts, n])
    budget = max(_CELLS_PER_READING * n, 1024)
    top = int(counts.max())
    first = 0
    while first < top:
        columns = np.flatnonzero(counts > first)
        last = min(top, first + max(1, budget // len(columns)))
        yield _padded(slot, time, value, quality, starts, counts, columns, first, last)
        first = last


def _padded(
    slot: np.ndarray,
    time: np.ndarray,
    value: np.ndarray,
    quality: np.ndarray,
    starts: np.ndarray,
    counts: np.ndarray,
    columns: np.ndarray,
    first: int,
    last: int,
) -> Frame:
    """Rows first..last-1 of the per-slot ranks, for the slots that have them; short columns padded."""
    steps = last - first
    col_start = starts[columns]
    col_count = counts[columns]
    in_chunk = np.minimum(col_count - first, steps)
    # Padding repeats the column's last reading in this chunk, flagged PAD.
    tail = col_start + first + in_chunk - 1
    t = np.repeat(time[tail][None, :], steps, axis=0)
    v = np.repeat(value[tail][None, :], steps, axis=0)
    q = np.full((steps, len(columns)), PAD, dtype=np.uint8)
    column_of_slot = np.repeat(np.arange(len(columns)), in_chunk)
    row = np.arange(int(in_chunk.sum())) - np.repeat(np.cumsum(in_chunk) - in_chunk, in_chunk)
    source = np.repeat(col_start + first, in_chunk) + row
    t[row, column_of_slot] = time[source]
    v[row, column_of_slot] = value[source]
    q[row, column_of_slot] = quality[source]
    columns_slots = slot[col_start]
    contiguous = int(columns_slots[-1]) - int(columns_slots[0]) == len(columns_slots) - 1
    span = slice(int(columns_slots[0]), int(columns_slots[-1]) + 1) if contiguous else None
    return _frame(columns_slots, t, v, q, span)


class GoodView:
    """Turns frames into Series by carrying each slot's last GOOD reading across cells and batches."""

    def __init__(self, n_slots: int) -> None:
        self.value = np.full(n_slots, np.nan)
        self.time = np.full(n_slots, NEVER, dtype=np.int64)

    def series(self, frame: Frame) -> Series:
        at = frame.index
        if frame.all_good:
            self.value[at] = frame.value[-1]
            self.time[at] = frame.time[-1]
            return Series(frame.slots, frame.time, frame.value, None, frame.span)
        good = (frame.quality == Quality.GOOD) & ~np.isnan(frame.value)
        rows = np.arange(frame.steps)[:, None]
        source = np.where(good, rows, -1)
        np.maximum.accumulate(source, axis=0, out=source)
        seen = source >= 0
        pick = np.maximum(source, 0)
        value = np.where(seen, np.take_along_axis(frame.value, pick, axis=0), self.value[at])
        time = np.where(seen, np.take_along_axis(frame.time, pick, axis=0), self.time[at])
        self.value[at] = value[-1]
        self.time[at] = time[-1]
        return Series(frame.slots, time, value, good, frame.span)
