"""The slots a rule keeps state for, and where a frame's columns hold them.

Rules with per-member state (trend, exposure, group rules) index it by member row. A full poll cycle or a
site's readings come as a span of consecutive slots; the members inside a span are then one run of rows
found by binary search, so state is read and written through slices instead of per-cell gathers.
"""

from __future__ import annotations

import numpy as np

from detectors.engine.frame import Series


class Members:
    def __init__(self, n_slots: int, members: np.ndarray) -> None:
        self.slots = np.asarray(members, dtype=np.int64)
        self.row = np.full(n_slots, -1, dtype=np.int32)
        self.row[self.slots] = np.arange(len(self.slots))
        self.ordered = bool((np.diff(self.slots) > 0).all())

    def __len__(self) -> int:
        return len(self.slots)

    def locate(self, series: Series) -> tuple[np.ndarray | slice, np.ndarray | slice]:
        """(columns of the series, member rows) of the members the series holds; slices where they are runs."""
        span = series.span
        if span is not None and self.ordered:
            first, last = np.searchsorted(self.slots, (span.start, span.stop))
            inside = self.slots[first:last]
            rows = slice(int(first), int(last))
            if len(inside) == span.stop - span.start:
                return slice(0, len(inside)), rows
            return inside - span.start, rows
        rows_of_cols = self.row[series.slots]
        picked = np.flatnonzero(rows_of_cols >= 0)
        return picked, rows_of_cols[picked].astype(np.int64)


def as_array(index: np.ndarray | slice, size: int) -> np.ndarray:
    """An index (slice or array) as an array of positions, for the paths that need fancy indexing."""
    return np.arange(size)[index] if isinstance(index, slice) else index
