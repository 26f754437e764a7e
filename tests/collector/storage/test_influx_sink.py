"""InfluxSink against a real influxd: what a user finds in the `readings` and `alarms` measurements."""

from __future__ import annotations

import asyncio
import math

import httpx
from influx_helpers import T0_NS, awkward_batch, drain, series_by_sensor

from collector.app.localservices import LocalInfluxd, free_port
from collector.pipeline.loop import Pipeline
from collector.storage.influx import InfluxSink
from collector.telemetry import metrics
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from hazwatch.events import AlarmEvent, AlarmState, Transition
from hazwatch.quality import Quality


def test_every_sensor_of_a_batch_is_stored_with_its_exact_value_and_time(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    batch = awkward_batch(registry, rows_per_sensor=30)
    sink = InfluxSink(settings, registry)
    sink.submit(batch)
    asyncio.run(drain(sink))

    stored = series_by_sensor(influxd, settings.database, "SELECT value, quality FROM readings GROUP BY *")
    assert len(stored) == len(registry)
    for info in registry:
        rows = batch.take(batch.slot == info.slot)
        series = stored[info.sensor]
        assert series["tags"] == {
            "site": info.site,
            "area": info.area,
            "sensor": info.sensor,
            "kind": info.kind.value,
        }
        assert [r[0] for r in series["values"]] == rows.time_ns.tolist()
        assert [r[1] for r in series["values"]] == rows.value.tolist()
        assert [r[2] for r in series["values"]] == [0] * len(rows)


def test_offline_and_faulty_readings_are_stored_as_quality_without_a_value(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    slots = [0, 0, 0, 1]
    times = [T0_NS, T0_NS + 1_000_000_000, T0_NS + 2_000_000_000, T0_NS]
    values = [0.42, math.nan, math.inf, 0.5]
    quality = [Quality.GOOD, Quality.OFFLINE, Quality.FAULT, Quality.CALIBRATION]
    sink = InfluxSink(settings, registry)
    sink.submit(ReadingBatch.from_columns(slots, times, values, quality))
    asyncio.run(drain(sink))

    stored = series_by_sensor(influxd, settings.database, "SELECT value, quality FROM readings GROUP BY sensor")
    assert stored[registry.sensors[0].sensor]["values"] == [
        [T0_NS, 0.42, Quality.GOOD],
        [T0_NS + 1_000_000_000, None, Quality.OFFLINE],
        [T0_NS + 2_000_000_000, None, Quality.FAULT],
    ]
    assert stored[registry.sensors[1].sensor]["values"] == [[T0_NS, 0.5, Quality.CALIBRATION]]


def _event(slot: int, n: int, message: str, rule: str = "threshold high") -> AlarmEvent:
    return AlarmEvent(
        event_id=f"evt-{n:04d}",
        slot=slot,
        rule=rule,
        category="process",
        transition=Transition.RAISE if n % 2 == 0 else Transition.CLEAR,
        state=AlarmState.UNACKNOWLEDGED if n % 2 == 0 else AlarmState.NORMAL,
        level=2 if n % 2 == 0 else 0,
        level_name="power_cut" if n % 2 == 0 else "normal",
        priority="critical",
        value=1.5 + n / 1000,
        limit=1.5,
        time_ns=T0_NS + n * 1_000_000,
        message=message,
    )


def test_alarm_events_round_trip_with_their_text_intact(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    tricky = 'CH4 "T1" at 1.52 %, limit=1.5 %; path C:\\mine\\face'
    events = [_event(slot=3, n=n, message=f"{tricky} #{n}", rule="rate, of=rise") for n in range(10)]
    sink = InfluxSink(settings, registry)
    sink.submit_events(events[:5])
    sink.submit_events(events[5:])
    asyncio.run(drain(sink))

    info = registry.sensors[3]
    rows = influxd.query(
        'SELECT event_id, message, value, "limit", site, area, sensor, kind, level, level_name, state, rule,'
        " category, transition, priority FROM alarms",
        database=settings.database,
    )[0]["values"]
    assert rows == [
        [
            e.time_ns,
            e.event_id,
            e.message,
            e.value,
            e.limit,
            info.site,
            info.area,
            info.sensor,
            info.kind.value,
            str(e.level),
            e.level_name,
            e.state.value,
            e.rule,
            e.category,
            e.transition.value,
            e.priority,
        ]
        for e in events
    ]


def test_points_the_server_refuses_are_dropped_without_blocking_the_rest(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    """A field type conflict (1.x answers 400 "partial write ... dropped=N"): only those points are lost."""
    httpx.post(f"{influxd.url}/query", data={"q": f'CREATE DATABASE "{settings.database}"'}).raise_for_status()
    conflicting = f'alarms,site=x limit="not a number",event_id="seed" {T0_NS}\n'
    httpx.post(f"{influxd.url}/write", params={"db": settings.database}, content=conflicting).raise_for_status()
    rejected_before = metrics.INFLUX_POINTS_REJECTED._value.get()

    first = awkward_batch(registry, rows_per_sensor=2, seed=1)
    later = awkward_batch(registry, rows_per_sensor=2, seed=2)
    later = ReadingBatch(later.slot, later.time_ns + 10_000_000_000, later.value, later.quality)
    sink = InfluxSink(settings, registry)
    sink.submit(first)
    sink.submit_events([_event(slot=0, n=n, message="refused") for n in range(3)])
    sink.submit(later)
    asyncio.run(drain(sink))

    assert metrics.INFLUX_POINTS_REJECTED._value.get() - rejected_before == 3
    count = influxd.query("SELECT count(value) FROM readings", database=settings.database)[0]["values"][0][1]
    assert count == len(first) + len(later)
    assert influxd.query("SELECT count(event_id) FROM alarms", database=settings.database)[0]["values"][0][1] == 1


def test_a_restarted_sink_replays_the_spool_left_by_one_that_could_not_reach_influxdb(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    unreachable = settings.model_copy(update={"url": f"http://127.0.0.1:{free_port()}"})
    spooled = awkward_batch(registry, rows_per_sensor=40, seed=3)
    first_run = InfluxSink(unreachable, registry, close_timeout=2.0)
    first_run.submit(spooled)
    asyncio.run(first_run.close())
    assert first_run.backlog == len(spooled)

    newer = awkward_batch(registry, rows_per_sensor=5, seed=4)
    newer = ReadingBatch(newer.slot, newer.time_ns + 3600 * 1_000_000_000, newer.value, newer.quality)
    second_run = InfluxSink(settings, registry)
    assert second_run.backlog == len(spooled)
    second_run.submit(newer)
    asyncio.run(drain(second_run))

    expected = ReadingBatch.concat([spooled, newer])
    stored = series_by_sensor(influxd, settings.database, "SELECT value FROM readings GROUP BY sensor")
    for info in registry:
        rows = expected.take(expected.slot == info.slot)
        assert [r[0] for r in stored[info.sensor]["values"]] == rows.time_ns.tolist()
        assert [r[1] for r in stored[info.sensor]["values"]] == rows.value.tolist()


def test_batches_larger_than_a_request_are_split_into_requests_of_batch_size(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    """Thousands of points per request, never one: 81 sensors x 100 rows go out as ceil(8100/1000) requests."""
    batch = awkward_batch(registry, rows_per_sensor=100, seed=5)
    written_before = metrics.INFLUX_POINTS_WRITTEN._value.get()
    sink = InfluxSink(settings, registry)
    sink.submit(batch)
    requests = 0
    original_write = sink.writer.write

    async def counting_write(data: bytes, points: int):
        nonlocal requests
        requests += 1
        return await original_write(data, points)

    sink.writer.write = counting_write
    asyncio.run(drain(sink))
    assert requests == math.ceil(len(batch) / settings.batch_size)
    assert metrics.INFLUX_POINTS_WRITTEN._value.get() - written_before == len(batch)


class _OneAlarmPerBatch:
    def update(self, batch: ReadingBatch) -> list[AlarmEvent]:
        return [_event(slot=0, n=0, message="raised")]

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        return []


def test_one_sink_serves_the_pipeline_as_reading_and_event_sink_and_flushes_on_shutdown(
    registry: SensorRegistry, settings: InfluxSettings, influxd: LocalInfluxd
) -> None:
    batch = awkward_batch(registry, rows_per_sensor=10, seed=9)
    sink = InfluxSink(settings, registry)
    pipeline = Pipeline([], _OneAlarmPerBatch(), reading_sinks=[sink], event_sinks=[sink])

    async def run() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(pipeline.run(stop))
        pipeline.emit(batch)
        await asyncio.sleep(0.05)
        stop.set()
        await running

    asyncio.run(run())
    assert sink.backlog == 0
    count = influxd.query("SELECT count(value) FROM readings", database=settings.database)[0]["values"][0][1]
    assert count == len(batch)
    assert influxd.query("SELECT count(event_id) FROM alarms", database=settings.database)[0]["values"][0][1] == 1
