"""The line-protocol file sink: the demo's store when no InfluxDB exists, loadable into one later."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import httpx
from influx_helpers import T0_NS, awkward_batch

from collector.app.localservices import LocalInfluxd
from collector.storage.lpfile import LineProtocolFileSink
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry


def test_the_file_holds_every_reading_and_loads_into_influxdb(
    registry: SensorRegistry, influxd: LocalInfluxd, tmp_path: Path
) -> None:
    first = awkward_batch(registry, rows_per_sensor=3)
    gap = ReadingBatch.from_columns([0], [T0_NS + 10**12], [math.nan], [1])

    async def run() -> None:
        sink = LineProtocolFileSink(tmp_path / "readings.lp", registry, flush_interval=0.05)
        task = asyncio.create_task(sink.run())
        sink.submit(first)
        await asyncio.sleep(0.2)
        sink.submit(gap)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sink.close()

    asyncio.run(run())
    data = (tmp_path / "readings.lp").read_bytes()
    assert data.count(b"\n") == len(first) + 1

    httpx.post(f"{influxd.url}/query", data={"q": "CREATE DATABASE lpfile"}).raise_for_status()
    httpx.post(f"{influxd.url}/write", params={"db": "lpfile"}, content=data).raise_for_status()
    counts = influxd.query("SELECT count(value), count(quality) FROM readings", database="lpfile")[0]["values"][0]
    assert counts[1:] == [len(first), len(first) + 1]
