"""`api: v2` pointed at a real InfluxDB 1.6 (which has no /api/v2/write): a clear error naming the fix, nothing lost."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from collector.app.localservices import LocalInfluxd
from collector.storage.influx import InfluxSink
from collector.storage.influx_v2 import V2Writer
from collector.storage.writer import ServerMismatch
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import InfluxSettings


def v2_settings(influxd: LocalInfluxd, tmp_path: Path) -> InfluxSettings:
    return InfluxSettings(url=influxd.url, api="v2", flush_interval=0.1, spool_dir=str(tmp_path / "spool"))


def test_the_first_v2_write_to_a_1x_server_names_the_mismatch_and_the_setting(influxd: LocalInfluxd, tmp_path: Path):
    async def write() -> None:
        writer = V2Writer(v2_settings(influxd, tmp_path))
        try:
            await writer.write(b"readings,site=s value=1 1700000000000000000", 1)
        finally:
            await writer.aclose()

    with pytest.raises(ServerMismatch) as refused:
        asyncio.run(write())
    message = str(refused.value)
    assert "404" in message and "InfluxDB 1.x" in message and "influxdb.api: v1" in message


def test_a_v2_sink_on_a_1x_server_says_so_at_startup_and_keeps_every_reading(
    influxd: LocalInfluxd, registry: SensorRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="hazwatch.influx")
    sink = InfluxSink(v2_settings(influxd, tmp_path), registry, retry_initial=0.05, retry_max=0.2, close_timeout=1.0)
    slots = np.arange(len(registry))
    submitted = len(slots) * 3

    async def scenario() -> tuple[bool, int]:
        task = asyncio.create_task(sink.run())
        for step in range(3):
            sink.submit(ReadingBatch.from_columns(slots, time.time_ns() + step, np.ones(len(slots)), 0))
            await asyncio.sleep(0.3)
        alive = not task.done()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sink.close()
        return alive, sink.spooled

    alive, spooled = asyncio.run(scenario())
    assert alive, "a storage config error must never stop the collector"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("version 1.6" in e and "influxdb.api: v1" in e for e in errors), errors
    assert not any("not writable" in r.getMessage() for r in caplog.records), "not reported as an outage"
    assert spooled == submitted, "every reading kept on disk for when the config is fixed"
