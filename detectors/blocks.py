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

from detectors.frame import NEVER, Series

_NO_BUCKET = np.iinfo(np.int64).min


class BlockSeries:
    def __init__(self, n_slots: int, members: np.ndarray, block_s: np.ndarray, depth: int = 16) -> None:
        m = len(members)
        self.depth = depth
        self.members = np.asarray(members, dtype=np.int64)
        self.row = np.full(n_slots, -1, dtype=np.int64)
        self.row[self.members] = np.arange(m)
        self.block_ns = np.maximum((np.asarray(block_s) * 1e9).astype(np.int64), 1)
        self.mean = np.full((m, depth), np.nan)
        self.time = np.full((m, depth), NEVER, dtype=np.int64)
        self.head = np.zeros(m, dtype=np.int64)
        self.filled = np.zeros(m, dtype=np.int64)
        self.bucket = np.full(m, _NO_BUCKET, dtype=np.int64)
        self.carry_sum = np.zeros(m)
        self.carry_count = np.zeros(m)

    def closes(self, series: Series) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Feed a series; yields (member rows, closing reading's time) after each round of closed blocks."""
        rows_of_cols = self.row[series.slots]
        picked = np.flatnonzero(rows_of_cols >= 0)
        if not len(picked):
            return
        rows = rows_of_cols[picked]
        t = series.time[:, picked]
        width = self.block_ns[rows]
        bucket = t // width
        steps = len(t)
        previous = np.concatenate([self.bucket[rows][None, :], bucket[:-1]])
        closing = bucket > previous
        if series.fresh is None:
            x = series.value[:, picked]
            counts = np.broadcast_to(np.arange(steps + 1, dtype=np.float64)[:, None], (steps + 1, len(rows)))
        else:
            fresh = series.fresh[:, picked]
            x = np.where(fresh, series.value[:, picked], 0.0)
            closing &= fresh
            counts = np.concatenate([np.zeros((1, len(rows))), np.cumsum(fresh, axis=0, dtype=np.float64)])
        sums = np.concatenate([np.zeros((1, len(rows))), np.cumsum(x, axis=0)])
        col, row = np.nonzero(closing.T)
        if len(col):
            first = np.r_[True, col[1:] != col[:-1]]
            start = np.where(first, 0, np.r_[0, row[:-1]])
            total = sums[row, col] - sums[start, col] + np.where(first, self.carry_sum[rows[col]], 0.0)
            count = counts[row, col] - counts[start, col] + np.where(first, self.carry_count[rows[col]], 0.0)
            closed = previous[row, col]
            group_start = np.flatnonzero(first)
            ordinal = np.arange(len(col)) - np.repeat(group_start, np.diff(np.r_[group_start, len(col)]))
            last = np.r_[first[1:], True]
            tail_rows = rows[col[last]]
            tail_from = row[last]
            self.carry_sum[tail_rows] = sums[steps, col[last]] - sums[tail_from, col[last]]
            self.carry_count[tail_rows] = counts[steps, col[last]] - counts[tail_from, col[last]]
            untouched = np.ones(len(rows), dtype=bool)
            untouched[col] = False
        else:
            untouched = np.ones(len(rows), dtype=bool)
        self.carry_sum[rows[untouched]] += sums[steps, untouched]
        self.carry_count[rows[untouched]] += counts[steps, untouched]
        self.bucket[rows] = bucket[-1]
        if not len(col):
            return
        for k in range(int(ordinal.max()) + 1):
            now = (ordinal == k) & (count > 0)
            if not now.any():
                continue
            members = rows[col[now]]
            slot_in_ring = self.head[members]
            self.mean[members, slot_in_ring] = total[now] / count[now]
            self.time[members, slot_in_ring] = (closed[now] * width[col[now]]) + width[col[now]] // 2
            self.head[members] = (slot_in_ring + 1) % self.depth
            self.filled[members] = np.minimum(self.filled[members] + 1, self.depth)
            yield members, t[row[now], col[now]]

    def window(self, rows: np.ndarray, n: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last `n` blocks of each row, oldest first: (times ns, means); missing blocks are NaN."""
        width = int(np.max(n))
        offsets = np.arange(width) - width
        index = (self.head[rows][:, None] + offsets[None, :]) % self.depth
        means = self.mean[rows[:, None], index]
        times = self.time[rows[:, None], index].astype(np.float64)
        have = np.minimum(self.filled[rows], np.asarray(n))
        missing = offsets[None, :] < -have[:, None]
        means = np.where(missing, np.nan, means)
        times = np.where(missing, np.nan, times)
        return times, means


def ols_slope(times: np.ndarray, means: np.ndarray, min_points: int = 2) -> np.ndarray:
    """Least-squares slope per row (value per ns), ignoring NaN blocks; NaN with fewer than `min_points`."""
    ok = ~np.isnan(means)
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
