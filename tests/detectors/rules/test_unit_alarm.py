"""A multivariate group's alarm belongs to the unit: on the unit's own slot, shown under the unit's id, name and
area everywhere it goes (webhook, MQTT alarm topic, InfluxDB alarm records), never withdrawn by a member's own
health alarm."""

from __future__ import annotations

import asyncio
import json
import queue
import time
from dataclasses import dataclass

import numpy as np
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from collector.app.localservices import local_influxd, local_mosquitto
from collector.notify.mqtt_alarms import MqttAlarmSink
from collector.notify.webhooks import WebhookNotifier
from collector.pipeline.detection import build_detector_stack
from collector.storage.influx import InfluxSink
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.rules.multivariate_rule import MULTIVARIATE
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.examples import PLANT_EXAMPLE
from hazwatch.config.loader import parse_config
from hazwatch.config.notify import Subscriber, WebhookSettings
from hazwatch.config.schema import InfluxSettings, MqttSettings
from hazwatch.events import AlarmEvent, Transition
from tests.support.detectors import SECOND, T0, of_rule
from tests.support.receivers import ThreadedReceiver
from tests.support.waiting import wait_until

STEP_S = 2.0
GROUP = ["R101-FT-CW", "R101-PT", "R101-TT-A", "R101-LT"]
"""The example's R-101 unit model with the cooling-water flow first: the member the alarm used to live on."""
UNIT_ID, UNIT_NAME, UNIT_AREA = "R101-UNIT", "R-101 unit model", "r101"
"""How the example config names the unit (its group's `id`, `name` and `area`)."""
SECRET = b"unit-alarm-test-secret"


def r101(t: np.ndarray, flat_from: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    load = np.sin(2 * np.pi * t / 900) + 0.5 * np.sin(2 * np.pi * t / 370 + 1)
    temperature = 70 + 0.3 * load
    flow = 27 + 3 * load + rng.normal(0, 0.1, len(t))
    flow[t >= flat_from] = 8.0  # the cooling water all but stops: the flow reads one low value from then on
    return {
        "R101-TT-A": np.round(temperature + rng.normal(0, 0.05, len(t)), 1),
        "R101-TT-B": np.round(temperature + rng.normal(0, 0.05, len(t)), 1),
        "R101-TT-C": np.round(temperature + rng.normal(0, 0.05, len(t)), 1),
        "R101-PT": 247 * 2 ** ((temperature - 70) / 20) + rng.normal(0, 0.5, len(t)),
        "R101-FT-CW": flow,
        "R101-LT": 50 + rng.normal(0, 0.1, len(t)),
    }


@dataclass(frozen=True)
class FlatFlowRun:
    registry: SensorRegistry
    lifecycle: AlarmLifecycle
    events: list[AlarmEvent]
    site: str
    flat_from_s: float


@pytest.fixture(scope="module")
def flat_flow() -> FlatFlowRun:
    """R-101 calibrated, then its cooling-water flow goes flat at 2000 s: one run of the whole detector stack."""
    document = yaml.safe_load(PLANT_EXAMPLE.read_text())
    for group in document["sites"][0]["groups"]:
        if group["type"] == "multivariate":
            group["sensors"] = GROUP
    config = parse_config(document)
    registry = SensorRegistry.from_config(config)
    lifecycle = AlarmLifecycle()
    stack = build_detector_stack(registry, config, lifecycle)
    slot = {s.sensor: s.slot for s in registry}

    t = np.arange(0, 6600, STEP_S)
    flat_from = 2000.0
    quiet = np.array([max(s.range_min, 0) + 0.02 * (s.range_max - s.range_min) for s in registry])
    values = np.tile(quiet, (len(t), 1))
    values *= 1 + 0.002 * np.random.default_rng(1).standard_normal(values.shape)
    for sensor, series in r101(t, flat_from).items():
        values[:, slot[sensor]] = series
    n = len(registry)
    times = T0 + (t * SECOND).astype(np.int64)
    events = []
    for lo in range(0, len(t), 30):  # a minute of polls per batch, as the collector hands them over
        k = len(times[lo : lo + 30])
        batch = ReadingBatch.from_columns(
            np.tile(np.arange(n), k), np.repeat(times[lo : lo + 30], n), values[lo : lo + 30].ravel()
        )
        events += stack.update(batch)
    return FlatFlowRun(registry, lifecycle, events, config.sites[0].id, flat_from)


def unit_and_stuck(run: FlatFlowRun) -> list[AlarmEvent]:
    """The events the test follows: the unit's alarm and the flat member's stuck alarm."""
    flow = run.registry.slot(run.site, "R101-FT-CW")
    return [e for e in run.events if e.rule == MULTIVARIATE or (e.rule == "health.stuck" and e.slot == flow)]


def test_the_units_alarm_is_on_its_own_slot_and_survives_a_member_going_flat(flat_flow: FlatFlowRun) -> None:
    registry, site, events = flat_flow.registry, flat_flow.site, flat_flow.events
    flow = registry.slot(site, "R101-FT-CW")
    unit_slot = registry.slot(site, UNIT_ID)
    stuck = of_rule(events, "health.stuck", flow)
    assert stuck and stuck[0].transition is Transition.RAISE, "the flat flow raises its own stuck alarm"
    unit = of_rule(events, MULTIVARIATE)
    assert unit and unit[0].transition is Transition.RAISE
    assert {e.slot for e in unit} == {unit_slot}, "every unit event is on the unit's slot"
    assert unit_slot not in {registry.slot(site, sensor) for sensor in GROUP}, "which is no member's"
    assert of_rule(events, MULTIVARIATE, flow) == [], "nothing of the unit's lands on the flow sensor"
    assert flat_flow.flat_from_s < (unit[0].time_ns - T0) / SECOND < (stuck[0].time_ns - T0) / SECOND, (
        "the unit saw it first"
    )
    after_stuck = [e for e in unit if e.time_ns >= stuck[0].time_ns]
    assert not any(e.level == 0 for e in after_stuck), [e.message for e in after_stuck]
    assert unit[-1].level == 1, "the unit is still abnormal at the end"
    shown = flat_flow.lifecycle.status(unit_slot, MULTIVARIATE)
    assert shown is not None and shown.level == 1
    assert "without flow at R101-FT-CW (health.stuck)" in shown.message, "it says who was left out of the model"
    assert flat_flow.lifecycle.status(flow, "health.stuck").level >= 1, "and the flow's own alarm stands beside it"


@pytest.mark.anyio
async def test_a_real_webhook_receiver_gets_the_unit_alarm_under_the_units_id_name_and_area(
    flat_flow: FlatFlowRun, tmp_path
) -> None:
    receiver = ThreadedReceiver(SECRET)
    server = receiver.serve()
    settings = WebhookSettings(
        subscribers=[Subscriber(name="control-room", url=receiver.url)], backoff_initial=0.05, timeout=5.0
    )
    notifier = WebhookNotifier(settings, flat_flow.registry, tmp_path, secret=SECRET)
    followed = unit_and_stuck(flat_flow)
    task = asyncio.create_task(notifier.run())
    try:
        notifier.submit_events(followed)
        deadline = time.monotonic() + 60
        while len(receiver.deliveries) < len(followed) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await notifier.close()
        server.shutdown()

    payloads = [d.payload for d in receiver.deliveries]
    assert len(payloads) == len(followed) and all(d.signature_valid for d in receiver.deliveries)
    unit = [p for p in payloads if p["rule"] == MULTIVARIATE]
    assert unit and unit[0]["transition"] == "raise"
    for payload in unit:
        assert (payload["site"], payload["area"], payload["sensor"], payload["sensor_name"], payload["kind"]) == (
            flat_flow.site,
            UNIT_AREA,
            UNIT_ID,
            UNIT_NAME,
            "generic",
        )
    stuck = [p for p in payloads if p["rule"] == "health.stuck"]
    assert stuck and {p["sensor"] for p in stuck} == {"R101-FT-CW"}, "the member's own alarm keeps the member's name"
    assert all(p["level"] == 1 for p in unit), "no clear of the unit's alarm: the member going stuck withdrew nothing"


def test_a_real_influxd_stores_the_unit_alarm_under_the_units_tags(flat_flow: FlatFlowRun) -> None:
    with local_influxd() as influxd:
        settings = InfluxSettings(url=influxd.url, database="unit_alarm", raw_retention="INF")  # the run is in 2023
        sink = InfluxSink(settings, flat_flow.registry)
        followed = unit_and_stuck(flat_flow)
        sink.submit_events(followed)

        async def drain() -> None:
            task = asyncio.create_task(sink.run())
            try:
                deadline = time.monotonic() + 60
                while (sink.backlog or not sink.prepared) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await sink.close()

        asyncio.run(drain())
        series = influxd.query(
            'SELECT "level", "message" FROM "alarms" GROUP BY "site", "area", "sensor", "kind", "rule"',
            database=settings.database,
        )
    by_rule = {s["tags"]["rule"]: s for s in series}
    assert by_rule[MULTIVARIATE]["tags"] == {
        "site": flat_flow.site,
        "area": UNIT_AREA,
        "sensor": UNIT_ID,
        "kind": "generic",
        "rule": MULTIVARIATE,
    }
    assert len(by_rule[MULTIVARIATE]["values"]) == sum(e.rule == MULTIVARIATE for e in followed)
    assert by_rule["health.stuck"]["tags"]["sensor"] == "R101-FT-CW"


def test_the_mqtt_alarm_topic_of_the_unit_holds_its_alarm_and_the_members_topic_only_its_own(
    flat_flow: FlatFlowRun,
) -> None:
    with local_mosquitto() as broker:
        sink = MqttAlarmSink(MqttSettings(url=broker.url, client_id="hazwatch-unit-test"), flat_flow.registry)
        asyncio.run(sink.run())
        wait_until(sink.client.is_connected, timeout=30)
        sink.submit_events(unit_and_stuck(flat_flow))
        try:
            unit = retained(broker.url, f"hazwatch/alarms/{flat_flow.site}/{UNIT_ID}")
            flow = retained(broker.url, f"hazwatch/alarms/{flat_flow.site}/R101-FT-CW")
        finally:
            asyncio.run(sink.close())
    assert (unit["sensor"], unit["area"], unit["level"]) == (UNIT_ID, UNIT_AREA, 1)
    assert [a["rule"] for a in unit["active"]] == [MULTIVARIATE]
    assert [a["rule"] for a in flow["active"]] == ["health.stuck"]


def retained(url: str, topic: str, timeout: float = 30.0) -> dict:
    """The retained message on `topic`, as a late-joining HMI gets it."""
    received: queue.Queue = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hmi-{time.monotonic_ns()}")
    client.on_message = lambda c, u, message: received.put(message.payload)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    host, port = url.removeprefix("mqtt://").split(":")
    client.connect(host, int(port))
    client.loop_start()
    try:
        return json.loads(received.get(timeout=timeout))
    finally:
        client.loop_stop()
        client.disconnect()
