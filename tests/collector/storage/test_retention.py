"""Raw retention and the 5-minute statistics (max/min/mean per analog point) in a real influxd."""

from __future__ import annotations

import asyncio
import math

import numpy as np
from influx_helpers import T0_NS, drain

from collector.app.localservices import LocalInfluxd
from collector.storage import retention
from collector.storage.influx import InfluxSink
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.kinds import BINARY_KINDS
from hazwatch.config.schema import InfluxSettings
from hazwatch.quality import Quality

FIVE_MIN_NS = 300 * 1_000_000_000


def test_the_database_gets_the_configured_retention_and_the_statistics_query(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    settings = settings.model_copy(update={"raw_retention": "800d", "stats_retention": "3650d"})
    asyncio.run(drain(InfluxSink(settings, registry)))

    policies = influxd.query(f'SHOW RETENTION POLICIES ON "{settings.database}"', database=settings.database)[0]
    by_name = {row[0]: dict(zip(policies["columns"], row, strict=True)) for row in policies["values"]}
    assert by_name["autogen"]["duration"] == f"{800 * 24}h0m0s"
    assert by_name["autogen"]["default"] is True
    assert by_name["stats"]["duration"] == f"{3650 * 24}h0m0s"
    queries = {s["name"]: s.get("values", []) for s in influxd.query("SHOW CONTINUOUS QUERIES")}
    assert [row[0] for row in queries[settings.database]] == ["readings_5m"]

    # A second start with a new duration alters the policy instead of failing.
    settings = settings.model_copy(update={"raw_retention": "900d"})
    asyncio.run(drain(InfluxSink(settings, registry)))
    policies = influxd.query(f'SHOW RETENTION POLICIES ON "{settings.database}"', database=settings.database)[0]
    assert {row[0]: row[1] for row in policies["values"]}["autogen"] == f"{900 * 24}h0m0s"


def test_five_minute_statistics_take_good_analog_readings_only(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    rng = np.random.default_rng(11)
    rows = 40  # every 15 s for 10 minutes: two 5-minute windows
    slots = np.tile(np.arange(len(registry)), rows)
    times = T0_NS + np.repeat(np.arange(rows, dtype=np.int64) * 15_000_000_000, len(registry))
    values = rng.uniform(0, 100, len(slots)).round(3)
    quality = rng.choice([Quality.GOOD, Quality.GOOD, Quality.GOOD, Quality.CALIBRATION, Quality.OFFLINE], len(slots))
    values[quality == Quality.OFFLINE] = math.nan
    batch = ReadingBatch.from_columns(slots, times, values, quality)
    sink = InfluxSink(settings, registry)
    sink.submit(batch)
    asyncio.run(drain(sink))

    influxd.query(retention.statistics_select(settings, (T0_NS, T0_NS + 2 * FIVE_MIN_NS)), database=settings.database)

    stored = influxd.query('SELECT max, min, mean FROM "stats"."readings_5m" GROUP BY *', database=settings.database)
    by_sensor = {s["tags"]["sensor"]: s for s in stored}
    analog = [info for info in registry if info.kind not in BINARY_KINDS]
    assert set(by_sensor) == {info.sensor for info in analog}
    for info in analog:
        series = by_sensor[info.sensor]
        assert series["tags"] == {"site": info.site, "area": info.area, "sensor": info.sensor, "kind": info.kind.value}
        expected = []
        for window in range(2):
            start = T0_NS + window * FIVE_MIN_NS
            mask = (slots == info.slot) & (quality == Quality.GOOD) & (times >= start) & (times < start + FIVE_MIN_NS)
            expected.append([start, values[mask].max(), values[mask].min(), values[mask].mean()])
        got = series["values"]
        assert [row[:3] for row in got] == [row[:3] for row in expected]
        assert np.allclose([row[3] for row in got], [row[3] for row in expected], rtol=1e-12)
