"""The InfluxDB contract: every path that writes (readings, alarms, KPIs, health, exported recordings) lands in a
real influxd under the names hazwatch/storage/schema.py declares, and reads back through the one reader."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
from influx_helpers import T0_NS, awkward_batch, drain

from collector.app.localservices import LocalInfluxd
from collector.storage.health_writer import HealthWriter
from collector.storage.influx import InfluxSink
from collector.storage.kpi_influx import read_alarm_records, write_kpis
from collector.storage.query import InfluxQuery
from detectors.alarms.kpi import compute_kpis
from hazwatch.config import SensorRegistry
from hazwatch.config.examples import MINE_EXAMPLE
from hazwatch.config.loader import load_config
from hazwatch.config.schema import InfluxSettings
from hazwatch.events import AlarmEvent, AlarmState, Transition
from hazwatch.storage.schema import ALARM_KPI, ALARMS, MEASUREMENTS, READINGS, SYSTEM_HEALTH
from simulators.export import write_line_protocol
from simulators.scenarios.loader import load_scenario, render_scenario


def _stored_names(reader: InfluxQuery, measurement: str) -> tuple[set[str], set[str]]:
    tags = {row["tagKey"] for row in reader.records(f'SHOW TAG KEYS FROM "{measurement}"')}
    fields = {row["fieldKey"] for row in reader.records(f'SHOW FIELD KEYS FROM "{measurement}"')}
    return tags, fields


def _assert_in_schema(reader: InfluxQuery, measurement: str) -> None:
    tags, fields = _stored_names(reader, measurement)
    declared = MEASUREMENTS[measurement]
    assert tags and fields, f"nothing stored in {measurement}"
    assert tags <= declared.tags, f"{measurement} tags not in the schema: {tags - declared.tags}"
    assert fields <= declared.fields, f"{measurement} fields not in the schema: {fields - declared.fields}"


def _raise(slot: int, time_ns: int, event_id: str) -> AlarmEvent:
    return AlarmEvent(
        event_id=event_id,
        slot=slot,
        rule="threshold.high",
        category="process",
        transition=Transition.RAISE,
        state=AlarmState.UNACKNOWLEDGED,
        level=1,
        level_name="alarm",
        priority="high",
        value=1.2,
        limit=1.0,
        time_ns=time_ns,
        message="CH4 at 1.2 %",
    )


def test_readings_alarms_and_health_written_by_the_sink_read_back_under_the_schema_names(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    batch = awkward_batch(registry, rows_per_sensor=3)
    events = [_raise(0, T0_NS, "e-1"), _raise(1, T0_NS + 1, "e-2")]
    sink = InfluxSink(settings, registry)
    health = HealthWriter(sink.submit_lines, instance="contract-host")
    sink.submit(batch)
    sink.submit_events(events)
    health.write_sample()
    asyncio.run(drain(sink))

    with InfluxQuery(influxd.url, settings.database) as reader:
        for measurement in (READINGS, ALARMS, SYSTEM_HEALTH):
            _assert_in_schema(reader, measurement)
        per_sensor = reader.records(f'SELECT count("quality") FROM "{READINGS}" GROUP BY "sensor"')
        counts = {row["sensor"]: row["count"] for row in per_sensor}
        assert counts == {info.sensor: 3 for info in registry}
        ids = sorted(row["event_id"] for row in reader.records(f'SELECT "event_id" FROM "{ALARMS}"'))
        assert ids == ["e-1", "e-2"]
        (beat,) = reader.records(f'SELECT "heartbeat" FROM "{SYSTEM_HEALTH}" WHERE "instance" = \'contract-host\'')
        assert beat["heartbeat"] == 1


def test_kpis_written_for_a_site_read_back_under_the_schema_names(
    settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    httpx.post(f"{influxd.url}/query", params={"q": f'CREATE DATABASE "{settings.database}"'}).raise_for_status()
    now_ns = T0_NS + 3_600 * 1_000_000_000
    events = [_raise(slot, T0_NS + slot * 60_000_000_000, f"k-{slot}") for slot in range(3)]
    sink = InfluxSink(settings, SensorRegistry.from_config(load_config(MINE_EXAMPLE)))
    sink.submit_events(events)
    asyncio.run(drain(sink))
    records = read_alarm_records(influxd.url, settings.database, hours=48)
    assert len(records) == 3
    write_kpis(influxd.url, settings.database, compute_kpis(records, start_ns=T0_NS, end_ns=now_ns), site="mine")

    with InfluxQuery(influxd.url, settings.database) as reader:
        _assert_in_schema(reader, ALARM_KPI)
        (totals,) = reader.records(f'SELECT "alarms" FROM "{ALARM_KPI}" WHERE "site" = \'mine\' AND "bad_actor" = \'\'')
        assert totals["alarms"] == 3


def test_an_exported_recording_is_line_protocol_influxdb_stores_row_for_row(
    tmp_path, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    scenario = load_scenario("calibration-session")
    config = load_config(MINE_EXAMPLE)
    rendering = render_scenario(config, scenario)
    path = tmp_path / "export.lp"
    rows = write_line_protocol(rendering, path)
    httpx.post(f"{influxd.url}/query", params={"q": f'CREATE DATABASE "{settings.database}"'}).raise_for_status()
    params = {"db": settings.database, "precision": "ns"}
    response = httpx.post(f"{influxd.url}/write", params=params, content=path.read_bytes(), timeout=120)
    assert response.status_code == 204, response.text

    with InfluxQuery(influxd.url, settings.database) as reader:
        _assert_in_schema(reader, READINGS)
        (total,) = reader.records(f'SELECT count("quality") FROM "{READINGS}"')
    delivered = int((~np.isnan(rendering.readings.arrival_s)).sum())
    assert rows == delivered and total["count"] == delivered
