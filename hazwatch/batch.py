"""ReadingBatch: the columnar unit that flows from sources through detectors to sinks.

Sources decode whole Modbus responses and MQTT payloads straight into these columns, and
detectors update their per-slot state from a whole batch at once, so the hot path never
creates a Python object per reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hazwatch.quality import Quality

SLOT_DTYPE = np.int32
TIME_DTYPE = np.int64
VALUE_DTYPE = np.float64
QUALITY_DTYPE = np.uint8


@dataclass(frozen=True, slots=True)
class ReadingBatch:
    """Parallel columns; row i is one reading of sensor `slot[i]` at `time_ns[i]` (Unix ns, UTC).

    A reading whose quality is not GOOD may carry NaN as its value (offline, invalid sentinel).
    """

    slot: np.ndarray
    time_ns: np.ndarray
    value: np.ndarray
    quality: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.slot)
        if not (len(self.time_ns) == len(self.value) == len(self.quality) == n):
            raise ValueError("ReadingBatch columns must have equal lengths")

    @classmethod
    def from_columns(
        cls,
        slot: Sequence[int] | np.ndarray,
        time_ns: Sequence[int] | np.ndarray | int,
        value: Sequence[float] | np.ndarray,
        quality: Sequence[int] | np.ndarray | int = Quality.GOOD,
    ) -> ReadingBatch:
        """Build a batch with the canonical dtypes; a scalar time or quality applies to every row."""
        slot_arr = np.asarray(slot, dtype=SLOT_DTYPE)
        n = len(slot_arr)
        time_arr = np.asarray(time_ns, dtype=TIME_DTYPE)
        if time_arr.ndim == 0:
            time_arr = np.full(n, time_arr, dtype=TIME_DTYPE)
        quality_arr = np.asarray(quality, dtype=QUALITY_DTYPE)
        if quality_arr.ndim == 0:
            quality_arr = np.full(n, quality_arr, dtype=QUALITY_DTYPE)
        return cls(slot_arr, time_arr, np.asarray(value, dtype=VALUE_DTYPE), quality_arr)

    @classmethod
    def empty(cls) -> ReadingBatch:
        return cls.from_columns([], [], [], [])

    @classmethod
    def concat(cls, batches: Sequence[ReadingBatch]) -> ReadingBatch:
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        return cls(
            np.concatenate([b.slot for b in batches]),
            np.concatenate([b.time_ns for b in batches]),
            np.concatenate([b.value for b in batches]),
            np.concatenate([b.quality for b in batches]),
        )

    def __len__(self) -> int:
        return len(self.slot)

    def take(self, index: np.ndarray) -> ReadingBatch:
        """Rows selected by a boolean mask or an index array."""
        return ReadingBatch(self.slot[index], self.time_ns[index], self.value[index], self.quality[index])

    def sorted_by_time(self) -> ReadingBatch:
        """Rows in time order (stable, so equal times keep arrival order): back-filled data arrives late."""
        order = np.argsort(self.time_ns, kind="stable")
        return self.take(order)
