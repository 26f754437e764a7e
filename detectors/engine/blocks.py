"""Block means: each member slot's readings averaged over fixed time buckets, kept in a short ring.

Why: slopes, rates and drift want a few dozen de-noised points per window, not every reading. Buckets are
absolute (time // width), so a block closes at the same reading whether readings arrive one at a time or
a thousand at once — the rules built on blocks give the same answer for any batching. A batch spanning
several blocks of one sensor is handled in rounds: round k closes every sensor's k-th block in the batch,
and the caller evaluates its rule after each round, seeing the ring exactly as a per-reading run would.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from detectors.engine.frame import NEVER, Series
from detectors.engine.members import Members, as_array

_NO_BUCKET = np.iinfo(np.int64).min


class BlockSeries:
    def __init__(self, n_slots: int, members: np.ndarray, block_s: np.ndarray, depth: int = 16) -> None:
        m = len(members)
        self.depth = depth
        self.members = Members(n_slots, members)
        self.block_ns = np.maximum((np.asarray(block_s) * 1e9).astype(np.int64), 1)
        self.mean = np.full((m, depth), np.nan)
        self.time = np.full((m, depth), float(NEVER))
        """Block mid-times in ns, as float: what the slope fits use (kept converted once, at the close)."""
        self.head = np.zeros(m, dtype=np.int64)
        self.filled = np.zeros(m, dtype=np.int64)
        self.bucket = np.full(m, _NO_BUCKET, dtype=np.int64)
        # The current bucket's bounds: a reading inside them closes nothing and only adds to the carry.
        # Before the first reading the bounds are empty, so that reading takes the full path.
        self.bucket_start = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
        self.bucket_end = np.full(m, np.iinfo(np.int64).min, dtype=np.int64)
        self.carry_sum = np.zeros(m)
        self.carry_count = np.zeros(m)

    def closes(self, series: Series) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Feed a series; yields (member rows, closing reading's time) after each round of closed blocks."""
        cols, rows = self.members.locate(series)
        first_t, last_t = series.time[0, cols], series.time[-1, cols]
        if not len(first_t):
            return
        # Columns are time-ordered, so a column whose first and last readings are in its current bucket
        # closes nothing: most batches, as blocks span many poll cycles.
        crossing = (first_t < self.bucket_start[rows]) | (last_t >= self.bucket_end[rows])
        if not crossing.any():
            self._carry(series, cols, rows)
            return
        cols = as_array(cols, series.time.shape[1])
        rows = as_array(rows, len(self.members))
        if not crossing.all():
            self._carry(series, cols[~crossing], rows[~crossing])
            cols, rows = cols[crossing], rows[crossing]
        yield from self._close(series, cols, rows)

    def _carry(self, series: Series, cols: np.ndarray | slice, rows: np.ndarray | slice) -> None:
        """Add readings that stay inside their current bucket to its running sum and count."""
        x = series.value[:, cols]
        if series.fresh is None:
            added = len(x)
        else:
            fresh = series.fresh[:, cols]
            x = np.where(fresh, x, 0.0)
            added = fresh.sum(axis=0, dtype=np.float64)
        if len(x) == 1:
            self.carry_sum[rows] += x[0]
        else:  # the running sum in reading order, as one reading at a time adds it
            self.carry_sum[rows] = np.cumsum(np.concatenate([self.carry_sum[rows][None, :], x]), axis=0)[-1]
        self.carry_count[rows] += added

    def _close(self, series: Series, picked: np.ndarray, rows: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Step by step, as readings one at a time would: block sums are then added in the same order, so a
        block's mean is the same to the last bit however the readings were batched (a rate exactly at its
        limit must not depend on the batching)."""
        fresh = None if series.fresh is None else series.fresh[:, picked]
        t, v = series.time[:, picked], series.value[:, picked]
        for step in range(len(t)):
            yield from self._close_step(t[step], v[step], None if fresh is None else fresh[step], rows)

    def _close_step(
        self, t: np.ndarray, value: np.ndarray, fresh: np.ndarray | None, rows: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One reading per member: its block closes when the reading is fresh and in a later bucket."""
        width = self.block_ns[rows]
        bucket = t // width
        previous = self.bucket[rows]
        closing = bucket > previous
        if fresh is None:
            x = value
            added = np.ones(len(rows))
        else:
            x = np.where(fresh, value, 0.0)
            closing &= fresh
            added = fresh.astype(np.float64)
        carry_sum, carry_count = self.carry_sum[rows], self.carry_count[rows]
        written = closing & (carry_count > 0)
        total, count = carry_sum[written], carry_count[written]
        self.carry_sum[rows] = np.where(closing, x, carry_sum + x)
        self.carry_count[rows] = np.where(closing, 1.0, carry_count + added)
        self.bucket[rows] = bucket
        self.bucket_start[rows] = bucket * width
        self.bucket_end[rows] = bucket * width + width
        if not written.any():
            return
        members = rows[written]
        slot_in_ring = self.head[members]
        self.mean[members, slot_in_ring] = total / count
        self.time[members, slot_in_ring] = (previous[written] * width[written] + width[written] // 2).astype(np.float64)
        self.head[members] = (slot_in_ring + 1) % self.depth
        self.filled[members] = np.minimum(self.filled[members] + 1, self.depth)
        yield members, t[written]

    def newest(self, rows: np.ndarray) -> np.ndarray:
        """Each row's newest block mean (NaN before its first block)."""
        return self.mean[rows, self.head[rows] - 1]

    def back(self, rows: np.ndarray, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(time, mean) of the block `blocks` before each row's newest (0: the newest); NaN where not yet there."""
        at = self.head[rows] - 1 - blocks  # in [-depth, depth): negative indices wrap the ring
        missing = self.filled[rows] <= blocks
        times, means = self.time[rows, at], self.mean[rows, at]
        if missing.any():
            times[missing] = np.nan
            means[missing] = np.nan
        return times, means

    def window(self, rows: np.ndarray, n: int | np.ndarray, ordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The last `n` blocks of each row, oldest first: (times ns, means); missing blocks are NaN.

        `ordered=False` is for fits that do not care about order (least squares, Theil–Sen): a window of the
        whole ring is then the ring rows as stored (blocks not yet written are NaN), without a rotation.
        """
        width = int(np.max(n))
        if not ordered and width == self.depth and (np.asarray(n) == width).all():
            return self.time.take(rows, axis=0), self.mean.take(rows, axis=0)
        offsets = np.arange(width) - width
        heads = self.head[rows]
        if len(heads) and (heads == heads[0]).all():
            # Rows that closed together usually hold as many blocks: one ring offset serves them all, and
            # whole-row takes are far cheaper than an index per cell.
            start = int(heads[0] - width) % self.depth
            means = _rotated(self.mean.take(rows, axis=0), start, width)
            times = _rotated(self.time.take(rows, axis=0), start, width)
        else:
            index = heads[:, None] + offsets[None, :]  # in [-depth, depth): negative indices wrap the ring
            means = self.mean[rows[:, None], index]
            times = self.time[rows[:, None], index]
        have = np.minimum(self.filled[rows], np.asarray(n))
        if (have >= width).all():
            return times, means
        missing = offsets[None, :] < -have[:, None]
        means = np.where(missing, np.nan, means)
        times = np.where(missing, np.nan, times)
        return times, means


def _rotated(ring: np.ndarray, start: int, width: int) -> np.ndarray:
    """Columns start, start+1, … (wrapping) of ring rows: `width` of them, as at most two slices."""
    depth = ring.shape[1]
    if start + width <= depth:
        return ring[:, start : start + width]
    return np.concatenate([ring[:, start:], ring[:, : start + width - depth]], axis=1)


def ols_slope(times: np.ndarray, means: np.ndarray, min_points: int = 2) -> np.ndarray:
    """Least-squares slope per row (value per ns), ignoring NaN blocks; NaN with fewer than `min_points`."""
    ok = ~np.isnan(means)
    if ok.all() and len(times) and (times == times[0]).all():
        # Every block present at the same times (rows that closed together): one centred time axis for all,
        # and the sums over it as matrix products.
        t = times[0] - times[0].max()
        dt = t - t.sum() / len(t)
        var = dt @ dt
        if var <= 0 or len(t) < min_points:
            return np.full(len(means), np.nan)
        xm = means @ np.full(len(t), 1.0 / len(t))
        return ((means - xm[:, None]) @ dt) / var
    if ok.all():
        # Every block present (the steady state): the same sums without the masks.
        n = np.full(len(means), means.shape[1])
        t = times - times.max(axis=1, keepdims=True)
        x = means
        tm = t.sum(axis=1) / np.maximum(n, 1)
        xm = x.sum(axis=1) / np.maximum(n, 1)
        dt = t - tm[:, None]
    else:
        n = ok.sum(axis=1)
        newest = np.where(ok, times, -np.inf).max(axis=1, keepdims=True)
        t = np.where(ok, times - newest, 0.0)
        x = np.where(ok, means, 0.0)
        tm = t.sum(axis=1) / np.maximum(n, 1)
        xm = x.sum(axis=1) / np.maximum(n, 1)
        dt = np.where(ok, t - tm[:, None], 0.0)
    var = (dt * dt).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((var > 0) & (n >= min_points), (dt * (x - xm[:, None])).sum(axis=1) / var, np.nan)
