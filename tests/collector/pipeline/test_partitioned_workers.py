"""Three `hazwatch run --partition K/3` workers against one mosquitto and one influxd do the work of one.

The simulated plant publishes once; a single worker and three partition workers consume the same stream,
each storing into its own database, so what each stored can be told apart and compared.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from collector.app.localservices import local_influxd
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.partition import PartitionSpec, owned_sensors
from tests.support.waiting import wait_until_settled
from tests.support.workers import (
    DEAD_MAN_RULES,
    all_reporting_ns,
    plant_config,
    plant_scenario,
    simulate_plant,
    unstamped_sensors,
    worker,
)

EVENTS = [
    {"at": 3, "type": "offset", "sensor": "LD-NH3-1", "offset": 70.0},  # gas detection system
    {"at": 3, "type": "offset", "sensor": "T201-PT", "offset": 25.0},  # tank-farm PLC
    {"at": 4, "type": "offset", "sensor": "R102-TT", "offset": 80.0},  # DCS gateway batches
]


@pytest.fixture
def influxd():
    with local_influxd() as server:
        yield server


def _readings_per_sensor(influxd, database: str) -> Counter[str]:
    series = influxd.query("SELECT count(value) FROM readings GROUP BY sensor", database)
    return Counter({s["tags"]["sensor"]: s["values"][0][1] for s in series})


def _events(influxd, database: str, reporting_ns: int, until_ns: int) -> list[tuple[str, str, str, str, str]]:
    """(sensor, rule, transition, level, event id) of the alarm events stamped up to the end of the simulation
    (the dead-man alarms that follow the simulator's stop are stamped with each worker's own clock), without the
    dead-man alarms stamped before every sensor was reporting to every worker (`all_reporting_ns`)."""
    q = f"SELECT sensor, rule, transition, level, event_id FROM alarms WHERE time <= {until_ns}"
    return [
        tuple(row[1:])
        for s in influxd.query(q, database)
        for row in s["values"]
        if row[2] not in DEAD_MAN_RULES or row[0] > reporting_ns
    ]


UNSTAMPED = unstamped_sensors()
"""The tank PLC publishes plain numbers: their time is when a worker received them, so the event id (which
includes that time) differs by the milliseconds between two processes' receipts; every other device stamps
its readings, and there the ids are equal."""


def _comparable(event: tuple[str, str, str, str, str]) -> tuple[str, ...]:
    return event[:4] if event[0] in UNSTAMPED or event[1] in DEAD_MAN_RULES else event


def test_three_partition_workers_store_every_reading_once_and_raise_the_single_workers_alarms(
    tmp_path, mosquitto, influxd
) -> None:
    scenario = plant_scenario(tmp_path, EVENTS)
    single = worker(tmp_path, "single", plant_config(tmp_path, "single"), mosquitto.url, influxd.url)
    parts = [
        worker(tmp_path, f"p{k}", plant_config(tmp_path, f"part{k}"), mosquitto.url, influxd.url, f"--partition={k}/3")
        for k in range(3)
    ]
    everyone = [single, *parts]
    try:
        for w in everyone:
            w.start()
        for w in everyone:
            w.wait_ready()
        simulate_plant(scenario, mosquitto.url, duration_s=14)
        end_ns = time.time_ns()
        databases = ["single", "part0", "part1", "part2"]
        wait_until_settled(lambda: [_readings_per_sensor(influxd, db) for db in databases])  # all delivered, stored
        for w in everyone:
            assert w.stop() == 0, w.log()
    finally:
        for w in everyone:
            if w.process is not None and w.process.poll() is None:
                w.process.kill()

    single_counts = _readings_per_sensor(influxd, "single")
    part_counts = [_readings_per_sensor(influxd, f"part{k}") for k in range(3)]
    config = load_config(plant_config(tmp_path, "check"))
    registry = SensorRegistry.from_config(config)
    assert set(single_counts) == {s.sensor for s in registry}, "the single worker stored every sensor"
    for k, counts in enumerate(part_counts):
        assert set(counts) == {sensor for _, sensor in owned_sensors(config, PartitionSpec(k, 3))}
    owners = Counter(sensor for counts in part_counts for sensor in counts)
    assert set(owners) == set(single_counts) and set(owners.values()) == {1}, "each sensor in exactly one worker"
    merged = sum(part_counts, Counter())
    assert merged == single_counts, "the partitions stored as many readings per sensor as the single worker"

    reporting_ns = all_reporting_ns(influxd, databases)
    single_events = _events(influxd, "single", reporting_ns, end_ns)
    part_events = [event for k in range(3) for event in _events(influxd, f"part{k}", reporting_ns, end_ns)]
    assert {"LD-NH3-1", "T201-PT", "R102-TT"} <= {event[0] for event in single_events}, "alarms on every device"
    assert Counter(map(_comparable, part_events)) == Counter(map(_comparable, single_events)), (
        "the same events, each from exactly one worker, with the same ids"
    )
