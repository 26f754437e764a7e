"""The v2 write path (influxdb-client) against a real server that speaks it: victoria-metrics.

victoria-metrics stores each line-protocol field as its own metric (`readings_value`,
`readings_quality`) with the tags as labels and millisecond timestamps.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from influx_helpers import T0_NS, drain

from collector.app.localservices import LocalVictoriaMetrics, local_victoria_metrics
from collector.storage.influx import InfluxSink
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from hazwatch.quality import Quality

MS = 1_000_000


@pytest.fixture(scope="module")
def victoria() -> Iterator[LocalVictoriaMetrics]:
    with local_victoria_metrics() as server:
        yield server


def test_readings_written_through_the_v2_api_arrive_with_values_tags_and_gaps(
    registry: SensorRegistry, victoria: LocalVictoriaMetrics, tmp_path: Path
) -> None:
    rows = 20
    slots = np.tile(np.arange(len(registry)), rows)
    times = T0_NS + np.repeat(np.arange(rows, dtype=np.int64) * 1000 * MS, len(registry))
    values = np.random.default_rng(5).uniform(-50, 500, len(slots)).round(4)
    quality = np.where(np.arange(len(slots)) % 7 == 3, Quality.OFFLINE, Quality.GOOD)
    values[quality == Quality.OFFLINE] = math.nan
    settings = InfluxSettings(
        url=victoria.url, api="v2", bucket="hazwatch", batch_size=500, flush_interval=0.1, spool_dir=str(tmp_path)
    )
    sink = InfluxSink(settings, registry)
    sink.submit(ReadingBatch.from_columns(slots, times, values, quality))
    asyncio.run(drain(sink))

    stored_values = {s["metric"]["sensor"]: s for s in victoria.export("readings_value")}
    stored_quality = {s["metric"]["sensor"]: s for s in victoria.export("readings_quality")}
    for info in registry:
        mine = slots == info.slot
        good = mine & (quality == Quality.GOOD)
        series = stored_values[info.sensor]
        assert {k: series["metric"][k] for k in ("site", "area", "sensor", "kind")} == {
            "site": info.site,
            "area": info.area,
            "sensor": info.sensor,
            "kind": info.kind.value,
        }
        assert series["timestamps"] == (times[good] // MS).tolist()
        assert series["values"] == values[good].tolist()
        assert stored_quality[info.sensor]["timestamps"] == (times[mine] // MS).tolist()
        assert stored_quality[info.sensor]["values"] == quality[mine].tolist()
