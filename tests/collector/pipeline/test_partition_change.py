"""Adding a worker (N from 2 to 3) moves some units to it, and their standing alarms move with them.

Two `--partition K/2` workers run against one mosquitto and one database; an ammonia alarm stands on a sensor of
the gas detection system and the shift lead acknowledges it. The workers are restarted as `K/3` with a third one
beside them: the gas detection system now belongs to the new worker, which must show the same alarm,
still acknowledged, without raising it again (a page with a new id), while the old owner no longer shows it.
"""

from __future__ import annotations

import time

import httpx
import pytest

from collector.alarms import TOKEN_ENV
from collector.app.localservices import free_port, local_influxd
from hazwatch.config import load_config
from hazwatch.config.partition import PartitionSpec, owned_sensors
from tests.support.waiting import wait_until
from tests.support.workers import Worker, plant_config, plant_scenario, start_plant, worker

SITE, SENSOR, RULE = "hengda-chem", "LD-NH3-1", "threshold.high"
TOKEN = "partition-change-test-token-0123456789"


@pytest.fixture
def influxd():
    with local_influxd() as server:
        yield server


class ApiWorker:
    """A partition worker with its operator API, restarted under the same name (the same state directory)."""

    def __init__(self, tmp_path, name: str, config, mqtt_url: str, influx_url: str, partition: str) -> None:
        self.port = free_port()
        self.worker: Worker = worker(
            tmp_path, name, config, mqtt_url, influx_url, f"--partition={partition}", "--api-port", str(self.port)
        )
        self.worker.env = {TOKEN_ENV: TOKEN}

    def alarms(self) -> list[dict]:
        response = httpx.get(
            f"http://127.0.0.1:{self.port}/alarms", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        )
        response.raise_for_status()
        return [a for a in response.json()["alarms"] if (a["sensor"], a["rule"]) == (SENSOR, RULE)]

    def acknowledge(self, user: str) -> None:
        response = httpx.post(
            f"http://127.0.0.1:{self.port}/alarms/{SITE}/{SENSOR}/{RULE}/ack",
            json={"user": user},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        response.raise_for_status()


def _stored_transitions(influxd) -> list[str]:
    query = f"SELECT transition, event_id FROM alarms WHERE sensor = '{SENSOR}' AND rule = '{RULE}'"
    return [row[1] for series in influxd.query(query) for row in series["values"]]


def _start(workers: list[ApiWorker]) -> None:
    for w in workers:
        w.worker.start()
    for w in workers:
        w.worker.wait_ready()


def _stop(workers: list[ApiWorker]) -> None:
    for w in workers:
        assert w.worker.stop() == 0, w.worker.log()


def test_a_standing_acknowledged_alarm_moves_to_the_new_worker_as_it_was_and_is_not_raised_again(
    tmp_path, mosquitto, influxd
) -> None:
    config = plant_config(tmp_path, "hazwatch", by="device")
    loaded = load_config(config)
    owners = {
        n: next(k for k in range(n) if SENSOR in {s for _, s in owned_sensors(loaded, PartitionSpec(k, n))})
        for n in (2, 3)
    }
    assert owners[3] == 2 and owners[2] != 2, "the gas detection system moves to the added worker"
    scenario = plant_scenario(tmp_path, [{"at": 2, "type": "offset", "sensor": SENSOR, "offset": 70.0}])
    two = [ApiWorker(tmp_path, f"w{k}", config, mosquitto.url, influxd.url, f"{k}/2") for k in range(2)]
    three: list[ApiWorker] = []
    plant = None
    try:
        _start(two)
        plant = start_plant(scenario, mosquitto.url, duration_s=300)
        old_owner = two[owners[2]]
        wait_until(lambda: bool(old_owner.alarms()), 30, "the ammonia alarm on its first worker")
        old_owner.acknowledge("shift lead")
        wait_until(lambda: "ack" in _stored_transitions(influxd), 20, "the acknowledgement stored")
        _stop(two)

        three = [ApiWorker(tmp_path, f"w{k}", config, mosquitto.url, influxd.url, f"{k}/3") for k in range(3)]
        _start(three)
        after_ns = time.time_ns() + 3 * 10**9
        query = f"SELECT count(value) FROM readings WHERE sensor = '{SENSOR}' AND time > {after_ns}"
        wait_until(lambda: bool(influxd.query(query)), 40, "the new owner detecting the sensor's readings for 3 s")
        moved = three[owners[3]].alarms()
        left = three[owners[2]].alarms()
        transitions = _stored_transitions(influxd)
        _stop(three)
    finally:
        for w in [*two, *three]:
            if w.worker.process is not None and w.worker.process.poll() is None:
                w.worker.process.kill()
        if plant is not None:
            plant.terminate()
            plant.wait(30)

    assert [(a["state"], a["acknowledged"]) for a in moved] == [("acknowledged", True)], moved
    assert left == [], "the old owner let go of it"
    assert transitions.count("raise") == 1, f"raised once, not again by the new owner: {transitions}"
