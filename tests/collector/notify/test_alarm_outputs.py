"""Alarm state on MQTT (retained, per sensor), the alarm log line, and the JSONL record feeding `alarms kpi`."""

from __future__ import annotations

import json
import logging
import queue
import time

import httpx
import paho.mqtt.client as mqtt
import pytest
from notify_harness import methane_change
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from collector.app.cli.app import app
from collector.app.localservices import local_influxd, local_mosquitto
from collector.evaluation.replay.events_out import write_events
from collector.notify.log_sink import LogEventSink
from collector.notify.mqtt_alarms import MqttAlarmSink
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config.schema import MqttSettings
from tests.support.waiting import wait_until

SITE, FACE = "xinyuan-mine", "LW-CH4-T1"
S = 1_000_000_000


def retained_state(url: str, topic: str, timeout: float = 5.0) -> dict:
    """Subscribe as a late-joining HMI would and return the retained message on `topic`."""
    received: queue.Queue = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hmi-{time.monotonic_ns()}")
    client.on_message = lambda c, u, message: received.put((message.topic, message.payload, message.retain))
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    host_port = url.removeprefix("mqtt://")
    client.connect(host_port.split(":")[0], int(host_port.split(":")[1]))
    client.loop_start()
    try:
        got_topic, payload, retain = received.get(timeout=timeout)
    finally:
        client.loop_stop()
        client.disconnect()
    assert got_topic == topic and retain
    return json.loads(payload)



@pytest.mark.anyio
async def test_each_sensor_has_a_retained_alarm_state_that_late_subscribers_get(mine_registry):
    face = mine_registry.slot(SITE, FACE)
    lifecycle = AlarmLifecycle()
    topic = f"hazwatch/alarms/{SITE}/{FACE}"
    with local_mosquitto() as broker:
        sink = MqttAlarmSink(MqttSettings(url=broker.url, client_id="hazwatch-test"), mine_registry)
        await sink.run()
        wait_until(sink.client.is_connected)
        sink.submit_events(lifecycle.apply([methane_change(face, 1, 1 * S, 1.1)], 1 * S))
        sink.submit_events(lifecycle.apply([methane_change(face, 2, 2 * S, 1.6)], 2 * S))
        time.sleep(0.3)
        state = retained_state(broker.url, topic)
        assert (state["state"], state["level"], state["level_name"]) == ("unacknowledged", 2, "power_cut")
        assert [a["rule"] for a in state["active"]] == ["threshold.high"]

        sink.submit_events(lifecycle.apply([methane_change(face, 0, 3 * S, 0.8)], 3 * S))
        sink.submit_events(lifecycle.reset(face, "threshold.high", "li", 4 * S))
        time.sleep(0.3)
        state = retained_state(broker.url, topic)
        assert (state["state"], state["level"], state["active"]) == ("normal", 0, [])
        await sink.close()


def test_the_log_has_one_line_per_event_and_the_events_file_feeds_the_kpi_command(mine_registry, tmp_path, caplog):
    face = mine_registry.slot(SITE, FACE)
    corner = mine_registry.slot(SITE, "LW-CH4-T0")
    lifecycle = AlarmLifecycle()
    log_sink = LogEventSink(mine_registry)
    events = []
    for i in range(4):  # the corner sensor chatters: four activations within a minute
        events += lifecycle.apply([methane_change(corner, 1, (10 * i) * S, 1.1)], 10 * i * S)
        events += lifecycle.apply([methane_change(corner, 0, (10 * i + 5) * S, 0.9)], (10 * i + 5) * S)
    events += lifecycle.apply([methane_change(face, 1, 50 * S, 1.2)], 50 * S)
    with caplog.at_level(logging.INFO, logger="hazwatch.alarms"):
        log_sink.submit_events(events)
    write_events(tmp_path / "alarms.jsonl", events, mine_registry)  # as `hazwatch replay --events-out` does

    lines = [r.getMessage() for r in caplog.records if r.name == "hazwatch.alarms"]
    assert len(lines) == len(events)
    assert f"event_id={events[-1].event_id}" in lines[-1] and f"sensor={FACE}" in lines[-1]

    result = CliRunner().invoke(app, ["alarms", "kpi", "--from", str(tmp_path / "alarms.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    kpis = json.loads(result.output)
    assert kpis["alarms"] == 5
    assert kpis["chattering"] == {f"{SITE}/LW-CH4-T0/threshold.high": 4}
    assert kpis["bad_actors"][0] == [f"{SITE}/LW-CH4-T0/threshold.high", 4]


def test_kpis_are_read_from_and_written_to_influxdb(tmp_path):
    with local_influxd() as influx:
        httpx.post(f"{influx.url}/query", params={"q": "CREATE DATABASE hazwatch"}).raise_for_status()
        now = time.time_ns()
        lines = [
            f"alarms,site=mine,area=a,sensor=S{i % 3},kind=CH4,level=1,state=unacknowledged "
            f'value=1.1,limit=1.0,event_id="e{i}",message="m",rule="threshold.high",transition="raise",'
            f'priority="high" {now - (20 - i) * S}'
            for i in range(12)
        ]
        httpx.post(f"{influx.url}/write", params={"db": "hazwatch"}, content="\n".join(lines)).raise_for_status()

        result = CliRunner().invoke(app, ["alarms", "kpi", "--influx-url", influx.url, "--write", "--json"])

        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["alarms"] == 12
        (series,) = influx.query("SELECT alarms, flood_periods FROM alarm_kpi WHERE site = 'all'")
        assert series["values"][0][1:] == [12, 1]
