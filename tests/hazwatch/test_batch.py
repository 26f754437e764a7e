"""ReadingBatch is the columnar unit every package exchanges."""

import numpy as np
import pytest

from hazwatch.batch import ReadingBatch
from hazwatch.quality import Quality


def test_scalar_time_and_quality_apply_to_every_row() -> None:
    batch = ReadingBatch.from_columns([3, 1, 2], 1_000, [0.5, 0.6, 0.7])
    assert batch.time_ns.tolist() == [1_000] * 3
    assert batch.quality.tolist() == [Quality.GOOD] * 3
    assert batch.slot.dtype == np.int32 and batch.value.dtype == np.float64


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        ReadingBatch(np.zeros(2, np.int32), np.zeros(3, np.int64), np.zeros(2), np.zeros(2, np.uint8))


def test_late_back_filled_rows_sort_into_time_order_keeping_arrival_order_on_ties() -> None:
    batch = ReadingBatch.concat(
        [
            ReadingBatch.from_columns([0, 1], [20, 10], [1.0, 2.0]),
            ReadingBatch.from_columns([2, 3], [10, 5], [3.0, 4.0]),
        ]
    )
    ordered = batch.sorted_by_time()
    assert ordered.slot.tolist() == [3, 1, 2, 0]
