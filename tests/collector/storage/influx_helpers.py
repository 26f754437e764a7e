"""Helpers shared by the storage sink tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from collector.app.localservices import LocalInfluxd
from collector.storage.influx import InfluxSink
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry

T0_NS = (time.time_ns() // 3_600_000_000_000 - 24) * 3_600_000_000_000
"""A whole hour a day ago: inside the raw retention, and on 5-minute boundaries."""


async def drain(sink: InfluxSink, timeout: float = 30.0) -> None:
    """Run the sink until everything submitted so far is stored, then close it."""
    task = asyncio.create_task(sink.run())
    try:
        deadline = time.monotonic() + timeout
        while (sink.backlog or not sink.prepared) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sink.backlog == 0, f"{sink.backlog} points still queued after {timeout} s"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sink.close()


def awkward_batch(registry: SensorRegistry, rows_per_sensor: int, seed: int = 1) -> ReadingBatch:
    """Every sensor `rows_per_sensor` times, one second apart, with awkward floats (tiny, huge, negative)."""
    rng = np.random.default_rng(seed)
    slots = np.tile(np.arange(len(registry)), rows_per_sensor)
    times = T0_NS + np.repeat(np.arange(rows_per_sensor, dtype=np.int64) * 1_000_000_000, len(registry)) + slots
    values = rng.normal(0, 1, len(slots)) * 10.0 ** rng.integers(-8, 9, len(slots))
    return ReadingBatch.from_columns(slots, times, values, 0)


def series_by_sensor(influxd: LocalInfluxd, database: str, query: str) -> dict[str, dict]:
    """`query` must GROUP BY sensor: sensor id → {"columns": [...], "values": [...]}."""
    return {s["tags"]["sensor"]: s for s in influxd.query(query, database=database)}
