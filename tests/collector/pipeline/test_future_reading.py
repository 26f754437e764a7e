"""One reading stamped in the year 2200 on a gas sensor, through `hazwatch run` with a real mosquitto and influxd.

Before the intake check it blinded the sensor: every true reading after it was dropped as late, no
threshold alarm, no offline alarm, and InfluxDB's `last(value)` returned the 2200 value.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import paho.mqtt.client as paho
import pytest

from collector.app.localservices import local_influxd
from collector.app.runtime import RunOptions, build_runtime, serve
from collector.views.status import StatusView
from hazwatch.config import HazwatchConfig
from hazwatch.events import AlarmEvent, Transition
from tests.support.waiting import metric

SITE = "hengda-chem"
TARGET = "R101-LEL"
CONTROL = "R102-LEL-1"
BAD_CLOCK = "R102-LEL-2"
BAD_VALUES = "R102-H2S"
AREA = {TARGET: "r101", CONTROL: "r102", BAD_CLOCK: "r102", BAD_VALUES: "r102"}
YEAR_2200_MS = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp() * 1000)


class EventLog:
    """An event sink that keeps every alarm event the pipeline dispatched."""

    def __init__(self) -> None:
        self.events: list[AlarmEvent] = []

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        self.events.extend(events)

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass

    def of(self, slot: int, rule_prefix: str) -> list[AlarmEvent]:
        return [e for e in self.events if e.slot == slot and e.rule.startswith(rule_prefix)]

    def offline(self, slot: int) -> bool:
        """The sensor's own offline alarm, or its whole device's (which stands in for its sensors' own)."""
        return any(
            e.level and ((e.rule == "health.offline" and e.slot == slot) or slot in e.extra.get("slots", ()))
            for e in self.events
        )


@pytest.fixture
def influxd():
    with local_influxd() as server:
        yield server


def _publish(client: paho.Client, sensor: str, value: object, ts_ms: int) -> None:
    payload = json.dumps({"reading": {"value": value, "ts": ts_ms, "status": "ok"}})
    client.publish(f"plant/gds/{AREA[sensor]}/{sensor}", payload, qos=1).wait_for_publish(5)


async def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


def test_a_year_2200_reading_never_becomes_a_gas_sensors_current_value(
    plant_config: HazwatchConfig, mosquitto, influxd, tmp_path
) -> None:
    config = plant_config.model_copy(
        update={
            "mqtt": plant_config.mqtt.model_copy(update={"url": mosquitto.url}),
            "webhooks": plant_config.webhooks.model_copy(update={"subscribers": []}),
        }
    )
    runtime = build_runtime(config, RunOptions(influx_url=influxd.url, state_dir=tmp_path / "state"))
    registry = runtime.registry
    target, control, bad_clock, bad_values = (registry.slot(SITE, s) for s in (TARGET, CONTROL, BAD_CLOCK, BAD_VALUES))
    log = EventLog()
    view = StatusView(registry.sensors)
    runtime.pipeline.reading_sinks.insert(0, view)
    runtime.pipeline.event_sinks.insert(0, log)
    refused_before = metric("hazwatch_readings_refused_total", reason="future_time")

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="test-devices")
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(runtime, stop))
        try:
            await asyncio.sleep(1.5)  # subscribed
            now_ms = time.time_ns() // 1_000_000
            for sensor in (TARGET, CONTROL):
                await asyncio.to_thread(_publish, client, sensor, 5.0, now_ms)
            await asyncio.to_thread(_publish, client, TARGET, 7.0, YEAR_2200_MS)
            for _ in range(3):
                await asyncio.to_thread(_publish, client, BAD_CLOCK, 3.0, YEAR_2200_MS)
            await _wait(lambda: log.of(bad_clock, "health.clock"), 15, "health.clock on the sensor with a bad clock")
            for value in (True, "3.5", float("nan")):
                await asyncio.to_thread(_publish, client, BAD_VALUES, value, time.time_ns() // 1_000_000)
            await _wait(lambda: log.of(bad_values, "health.bad_value"), 15, "health.bad_value on the H2S sensor")
            for _ in range(3):
                now_ms = time.time_ns() // 1_000_000
                for sensor in (TARGET, CONTROL):
                    await asyncio.to_thread(_publish, client, sensor, 60.0, now_ms)
                await asyncio.sleep(0.3)

            def raised(slot: int) -> bool:
                return any(e.level >= 2 for e in log.of(slot, "threshold"))

            await _wait(lambda: raised(control), 15, "the control sensor's level-2 alarm")
            await _wait(lambda: raised(target), 5, "the target sensor's level-2 alarm")
            assert view.value[target] == 60.0, "the status view shows the true reading"
            assert view.time_ns[target] <= time.time_ns()
            # Publishing stops for the target: the dead-man must still see it go silent.
            await _wait(lambda: log.offline(target), 30, "the target's offline alarm")
        finally:
            stop.set()
            await task

    try:
        asyncio.run(scenario())
    finally:
        client.loop_stop()
        client.disconnect()

    assert metric("hazwatch_readings_refused_total", reason="future_time") - refused_before == 4
    raised = [e for e in log.of(target, "threshold") if e.transition in (Transition.RAISE, Transition.ESCALATE)]
    assert max(e.level for e in raised) == max(e.level for e in log.of(control, "threshold"))
    assert all(e.time_ns < YEAR_2200_MS * 1_000_000 for e in log.events)

    last = influxd.query(f"SELECT last(\"value\") FROM \"readings\" WHERE \"sensor\" = '{TARGET}'")
    assert last[0]["values"][0][1] == 60.0, "InfluxDB's last(value) is the true reading"
    future = influxd.query(
        f"SELECT count(\"value\") FROM \"readings\" WHERE \"sensor\" =~ /^({TARGET}|{BAD_CLOCK})$/"
        " AND time > now() + 1d"
    )
    assert future == [], "no year-2200 point was stored"
    bad = influxd.query(f"SELECT count(\"value\") FROM \"readings\" WHERE \"sensor\" = '{BAD_VALUES}'")
    assert bad == [], "true, text and NaN were never stored as readings"
