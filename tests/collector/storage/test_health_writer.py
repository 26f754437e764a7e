"""The health writer turns hazwatch's counters into `hazwatch_health` rows a real InfluxDB accepts."""

from __future__ import annotations

import asyncio

import httpx

from collector.app.localservices import local_influxd
from collector.storage.health_writer import COUNTER_FIELDS, GAUGE_FIELDS, HealthWriter
from collector.telemetry import metrics
from hazwatch.storage.schema import HEALTH_COUNTERS, HEALTH_FIELDS, HEALTH_GAUGES
from hazwatch.storage.schema import SYSTEM_HEALTH as MEASUREMENT

NS = 1_000_000_000


def test_samples_carry_heartbeat_rates_backlogs_and_device_state_into_influxdb():
    times = iter([1_700_000_000 * NS, 1_700_000_010 * NS])
    written: list[bytes] = []
    writer = HealthWriter(write=written.append, instance="host-a", clock=lambda: next(times))
    metrics.DEVICE_ONLINE.labels("site-h", "plc-1").set(1)
    metrics.DEVICE_ONLINE.labels("site-h", "plc-2").set(0)
    try:
        writer.write_sample()
        metrics.READINGS_INGESTED.labels("health-test").inc(500)
        metrics.INFLUX_SPOOL_POINTS.set(1234)
        writer.write_sample()
    finally:
        metrics.DEVICE_ONLINE.remove("site-h", "plc-1")
        metrics.DEVICE_ONLINE.remove("site-h", "plc-2")
        metrics.INFLUX_SPOOL_POINTS.set(0)
    with local_influxd() as influxd:
        httpx.post(f"{influxd.url}/query", params={"q": "CREATE DATABASE hazwatch"}).raise_for_status()
        response = httpx.post(f"{influxd.url}/write", params={"db": "hazwatch"}, content=b"".join(written))
        assert response.status_code == 204, response.text
        (instance,) = influxd.query(f"SELECT * FROM {MEASUREMENT} WHERE \"device\" = '' ORDER BY time DESC LIMIT 1")
        row = dict(zip(instance["columns"], instance["values"][0], strict=True))
        devices = influxd.query(f'SELECT last("online") FROM {MEASUREMENT} WHERE "site" = \'site-h\' GROUP BY "device"')
    assert row["heartbeat"] == 1 and row["instance"] == "host-a"
    assert row["readings_ingested_rate"] >= 50.0, "500 readings in 10 s"
    assert row["influx_spool_points"] == 1234
    assert set(k for k, v in row.items() if v is not None) - {"time", "instance"} <= HEALTH_FIELDS
    assert {s["tags"]["device"]: s["values"][0][1] for s in devices} == {"plc-1": 1, "plc-2": 0}


def test_a_failing_writer_never_stops_the_collector():
    def refuse(_: bytes) -> None:
        raise ConnectionError("InfluxDB down")

    writer = HealthWriter(write=refuse, interval=0.01)

    async def run_briefly() -> None:
        task = asyncio.create_task(writer.run())
        await asyncio.sleep(0.05)
        assert not task.done(), "the writer must keep running when writes fail"
        task.cancel()

    asyncio.run(run_briefly())


def test_the_writer_samples_exactly_the_counters_and_gauges_the_schema_names() -> None:
    assert tuple(COUNTER_FIELDS) == HEALTH_COUNTERS
    assert tuple(GAUGE_FIELDS) == HEALTH_GAUGES
