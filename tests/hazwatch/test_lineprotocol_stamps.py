"""Readings that share a timestamp (one gateway message, one poll cycle) each still carry their own row's time."""

import math

import numpy as np

from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_configs
from hazwatch.config.examples import MINE_EXAMPLE
from hazwatch.quality import Quality
from hazwatch.storage.lineprotocol import ReadingEncoder


def test_every_line_ends_with_its_own_rows_time_whether_stamps_repeat_or_not() -> None:
    registry = SensorRegistry.from_config(load_configs([MINE_EXAMPLE]))
    rng = np.random.default_rng(5)
    n = 400
    for times in (rng.choice([30, 10, 20], n), np.arange(n) * 7 + 1_700_000_000_000_000_000):
        values = rng.normal(1.0, 0.3, n)
        values[::9] = math.nan
        quality = np.where(np.isnan(values), Quality.OFFLINE, Quality.GOOD)
        slots = rng.integers(0, len(registry), n)
        lines = ReadingEncoder(registry).encode(ReadingBatch.from_columns(slots, times, values, quality)).splitlines()
        assert [int(line.rsplit(b" ", 1)[1]) for line in lines] == times.tolist()
        assert [b" value=" in line for line in lines] == np.isfinite(values).tolist()
