"""influxd stopped for 20 s while readings keep coming: every reading arrives, in order.

The memory bound is tiny here, so most of the outage goes through the on-disk spool.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import numpy as np
from influx_helpers import series_by_sensor

from collector.app.localservices import LocalInfluxd
from collector.storage.influx import InfluxSink
from collector.storage.influx_v1 import V1Writer
from collector.storage.writer import WriteResult
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import InfluxSettings

OUTAGE_S = 20.0
PERIOD_S = 0.1
_SENSOR_AND_TIME = re.compile(r",sensor=([^,]+),\S* \S+ (\d+)$", re.MULTILINE)


class DeliveryLog(V1Writer):
    """The real v1 writer, noting which readings each accepted request carried, in sending order."""

    def __init__(self, settings: InfluxSettings) -> None:
        super().__init__(settings)
        self.delivered: list[tuple[str, int]] = []

    async def write(self, data: bytes, points: int) -> WriteResult:
        result = await super().write(data, points)
        self.delivered += [(sensor, int(t)) for sensor, t in _SENSOR_AND_TIME.findall(data.decode())]
        return result


class Producer:
    """Submits every sensor every PERIOD_S seconds, as a collector would, and remembers what it sent."""

    def __init__(self, sink: InfluxSink, registry: SensorRegistry) -> None:
        self.sink = sink
        self.slots = np.arange(len(registry))
        self.rng = np.random.default_rng(3)
        self.sent: list[ReadingBatch] = []
        self.max_spooled = 0

    async def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            batch = ReadingBatch.from_columns(self.slots, time.time_ns(), self.rng.uniform(0, 5, len(self.slots)), 0)
            self.sink.submit(batch)
            self.sent.append(batch)
            self.max_spooled = max(self.max_spooled, self.sink.spooled)
            await asyncio.sleep(PERIOD_S)


async def _run_through_outage(sink: InfluxSink, producer: Producer, influxd: LocalInfluxd) -> None:
    runner = asyncio.create_task(sink.run())
    await producer.run_for(3.0)
    await asyncio.to_thread(influxd.stop)
    await producer.run_for(OUTAGE_S)
    restart = asyncio.create_task(asyncio.to_thread(influxd.start))
    await producer.run_for(3.0)
    await restart
    deadline = time.monotonic() + 60
    while sink.backlog and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await sink.close()


def test_every_reading_arrives_in_order_after_influxd_was_down_for_20_seconds(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    settings = settings.model_copy(update={"queue_max_points": 1000, "batch_size": 500})
    writer = DeliveryLog(settings)
    sink = InfluxSink(settings, registry, writer=writer, retry_max=1.0)
    producer = Producer(sink, registry)
    asyncio.run(_run_through_outage(sink, producer, influxd))

    assert producer.max_spooled > 10 * len(registry), "the outage went through the WAL on disk"
    assert sink.backlog == 0
    assert list(Path(settings.spool_dir).glob("*.wal")) == []

    sent = ReadingBatch.concat(producer.sent)
    stored = series_by_sensor(influxd, settings.database, "SELECT value FROM readings GROUP BY sensor")
    assert len(stored) == len(registry)
    for info in registry:
        mine = sent.take(sent.slot == info.slot)
        rows = stored[info.sensor]["values"]
        assert len(rows) == len(mine)
        assert [r[0] for r in rows] == mine.time_ns.tolist()
        assert [r[1] for r in rows] == mine.value.tolist()
        delivered = [t for sensor, t in writer.delivered if sensor == info.sensor]
        assert delivered == mine.time_ns.tolist(), f"{info.sensor}: delivered out of order or twice"
