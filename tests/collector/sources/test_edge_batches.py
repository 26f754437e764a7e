"""Edge and core roles: an edge worker publishes columnar reading batches, core detector workers consume them.

The standalone worker here runs with `--publish-batches`: it detects and stores itself *and* feeds three core
workers (`--role core --partition K/3`) through the broker. The cores see the edge's times, so what they store
and the alarms they raise are exactly the standalone worker's, event ids included.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import paho.mqtt.client as paho
import pytest

from collector.app.localservices import local_influxd
from hazwatch.batchwire import decode
from hazwatch.config import load_config
from hazwatch.config.partition import unit_keys
from tests.support.waiting import wait_until, wait_until_settled
from tests.support.workers import DEAD_MAN_RULES, all_reporting_ns, plant_config, plant_scenario, simulate_plant, worker

EVENTS = [
    {"at": 3, "type": "offset", "sensor": "LD-NH3-1", "offset": 70.0},
    {"at": 3, "type": "offset", "sensor": "T201-PT", "offset": 25.0},
    {"at": 4, "type": "offset", "sensor": "R102-TT", "offset": 80.0},
]


@pytest.fixture
def influxd():
    with local_influxd() as server:
        yield server


def _readings(influxd, database: str) -> Counter[tuple[str, int, float]]:
    series = influxd.query("SELECT value FROM readings GROUP BY sensor", database)
    return Counter((s["tags"]["sensor"], row[0], row[1]) for s in series for row in s["values"])


def _events(influxd, database: str, reporting_ns: int, until_ns: int) -> Counter[str]:
    """Event ids up to the end of the simulation, without the dead-man alarms of the start-up race
    (`all_reporting_ns`): an edge that ticks before a device's first round rightly raises offline, and a core
    that ticks before the edge's first batch does too, each by its own clock."""
    series = influxd.query(f"SELECT rule, event_id FROM alarms WHERE time <= {until_ns}", database)
    return Counter(
        row[2] for s in series for row in s["values"] if row[1] not in DEAD_MAN_RULES or row[0] > reporting_ns
    )


def test_core_workers_fed_by_an_edge_store_its_readings_once_and_raise_its_alarms_with_the_same_ids(
    tmp_path, mosquitto, influxd
) -> None:
    scenario = plant_scenario(tmp_path, EVENTS)
    edge = worker(
        tmp_path, "edge", plant_config(tmp_path, "edge"), mosquitto.url, influxd.url, "--publish-batches"
    )
    cores = [
        worker(tmp_path, f"core{k}", plant_config(tmp_path, f"core{k}"), mosquitto.url, influxd.url,
               "--role", "core", f"--partition={k}/3")
        for k in range(3)
    ]
    everyone = [*cores, edge]
    try:
        for w in everyone:
            w.start()
        for w in everyone:
            w.wait_ready()
        simulate_plant(scenario, mosquitto.url, duration_s=12)
        end_ns = time.time_ns()
        assert edge.stop() == 0, edge.log()  # flushes its last batches to the broker first
        wait_until_settled(lambda: [_readings(influxd, db) for db in ("edge", "core0", "core1", "core2")])
        for w in cores:
            assert w.stop() == 0, w.log()
    finally:
        for w in everyone:
            if w.process is not None and w.process.poll() is None:
                w.process.kill()

    standalone = _readings(influxd, "edge")
    assert len({sensor for sensor, _, _ in standalone}) == 33
    stored = [_readings(influxd, f"core{k}") for k in range(3)]
    assert sum(stored, Counter()) == standalone, "every reading once, with the edge's time and value"
    owners = Counter(sensor for counts in stored for sensor in {s for s, _, _ in counts})
    assert set(owners.values()) == {1}, "each sensor in exactly one core worker"

    reporting_ns = all_reporting_ns(influxd, ["edge", "core0", "core1", "core2"])
    alarms = _events(influxd, "edge", reporting_ns, end_ns)
    assert len(alarms) >= 3
    assert sum((_events(influxd, f"core{k}", reporting_ns, end_ns) for k in range(3)), Counter()) == alarms


def test_an_edge_publishes_one_columnar_message_per_unit_and_flush_not_one_per_reading(
    tmp_path, mosquitto, influxd
) -> None:
    config_path = plant_config(tmp_path, "edge-only")
    units = set(unit_keys(load_config(config_path)).values())
    received: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    listener = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="batch-listener")

    def on_message(_client, _userdata, message) -> None:
        with lock:
            received.append((message.topic, message.payload))

    listener.on_message = on_message
    listener.connect("127.0.0.1", mosquitto.port)
    listener.subscribe("hazwatch/batches/#", qos=1)
    listener.loop_start()
    edge = worker(tmp_path, "edge-only", config_path, mosquitto.url, influxd.url, "--role", "edge")
    try:
        edge.start()
        edge.wait_ready()
        simulate_plant(plant_scenario(tmp_path, []), mosquitto.url, duration_s=4)
        wait_until(lambda: len({topic for topic, _ in received}) == len(units), 20, "a batch on every unit topic")
        assert edge.stop() == 0, edge.log()
    finally:
        if edge.process is not None and edge.process.poll() is None:
            edge.process.kill()
        listener.loop_stop()
        listener.disconnect()

    assert {topic for topic, _ in received} == {f"hazwatch/batches/v1/{key}" for key in units}
    batches = [decode(payload) for _, payload in received]
    readings = sum(len(batch.index) for batch in batches)
    assert readings >= 33 * 4, "about 8 rounds of 33 sensors in 4 s"
    assert len(batches) < readings / 4, "batches, not a message per reading"
    assert all(batch.site == "hengda-chem" for batch in batches)
    databases = [row[0] for series in influxd.query("SHOW DATABASES") for row in series.get("values", [])]
    assert "edge-only" not in databases, "an edge stores nothing"
