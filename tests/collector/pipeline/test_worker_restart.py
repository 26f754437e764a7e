"""A worker killed with kill -9 and restarted mid-scenario: no alarm lost, none repeated under a new id.

Two workers read the same simulated plant: one runs throughout, the other is killed a second after its first
alarm is stored and started again three seconds later, as its supervisor would (same state directory). The
broker keeps its persistent session meanwhile; on restart the worker restores its alarm state and detector
snapshot, replays what it stored after the snapshot, and goes on. Its alarm events must be the steady
worker's, ids included.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

import pytest

from collector.app.localservices import local_influxd
from collector.pipeline.snapshot import FILE_NAME as SNAPSHOT_FILE
from tests.support.waiting import wait_until, wait_until_settled
from tests.support.workers import (
    DEAD_MAN_RULES,
    plant_config,
    plant_scenario,
    simulate_plant,
    unstamped_sensors,
    worker,
)

EVENTS = [
    {"at": 3, "type": "offset", "sensor": "LD-NH3-1", "offset": 70.0},  # raised before the kill
    {"at": 16, "type": "offset", "sensor": "R102-TT", "offset": 80.0},  # raised after the restart
    {"at": 22, "type": "offset", "sensor": "LD-NH3-1", "offset": -70.0},  # cleared after the restart
]
DOWN_S, DURATION_S = 3.0, 28.0
UNSTAMPED = unstamped_sensors()
"""Plain-number topics: stamped on receipt, so a worker that receives them late (after its restart) stamps
them late; their events are compared without the id (see test_partitioned_workers.py)."""


@pytest.fixture
def influxd():
    with local_influxd() as server:
        yield server


def _events(influxd, database: str, until_ns: int, restarted_ns: int = 0) -> Counter[tuple[str, ...]]:
    """Alarm events as (sensor, rule, transition, level, id), with the dead-man alarms stamped after the victim's
    restart only: before it, each worker raises them by its own clock (a start-up race against the simulator's
    first round, a simulator starved under load), after it one that only the victim raises is a restart storm.
    Without the id where it cannot agree between two processes: readings stamped on receipt, and dead-man
    alarms, which carry their own worker's tick time."""
    q = f"SELECT sensor, rule, transition, level, event_id FROM alarms WHERE time <= {until_ns}"
    try:
        series = influxd.query(q, database)
    except RuntimeError:  # the worker has not created its database yet
        return Counter()
    rows = [
        tuple(row[1:]) for s in series for row in s["values"] if row[2] not in DEAD_MAN_RULES or row[0] > restarted_ns
    ]
    return Counter(row[:4] if row[0] in UNSTAMPED or row[1] in DEAD_MAN_RULES else row for row in rows)


def test_a_worker_killed_and_restarted_mid_scenario_loses_no_alarm_and_repeats_none(
    tmp_path, mosquitto, influxd
) -> None:
    scenario = plant_scenario(tmp_path, EVENTS)
    steady = worker(tmp_path, "steady", plant_config(tmp_path, "steady"), mosquitto.url, influxd.url)
    victim_config = plant_config(tmp_path, "victim", mqtt={"client_id": "victim"})
    victim = worker(tmp_path, "victim", victim_config, mosquitto.url, influxd.url)
    simulator = threading.Thread(target=simulate_plant, args=(scenario, mosquitto.url, DURATION_S))
    try:
        steady.start()
        victim.start()
        steady.wait_ready()
        victim.wait_ready()
        simulator.start()
        wait_until(lambda: bool(_events(influxd, "victim", time.time_ns())), 30, "the first alarm stored")
        snapshot = tmp_path / "state-victim" / SNAPSHOT_FILE
        wait_until(snapshot.exists, 30, "the victim's first detector snapshot (written every 5 s)")
        time.sleep(1.0)
        victim.kill()
        time.sleep(DOWN_S)
        restarted_ns = time.time_ns()
        victim.start()
        victim.wait_ready()
        simulator.join(DURATION_S + 60)
        end_ns = time.time_ns()
        wait_until_settled(lambda: [_events(influxd, db, end_ns) for db in ("steady", "victim")])
        for w in (steady, victim):
            assert w.stop() == 0, w.log()
    finally:
        for w in (steady, victim):
            if w.process is not None and w.process.poll() is None:
                w.process.kill()
        simulator.join(DURATION_S + 60)

    log = victim.log()
    restored = re.search(r"restored (\d+) active alarms", log)  # more than the leak when the simulator starved
    assert restored and int(restored[1]) >= 1 and "detector state restored" in log, log
    expected = _events(influxd, "steady", end_ns, restarted_ns)
    assert {row[0] for row in expected} >= {"LD-NH3-1", "R102-TT"}
    assert any(row[0] == "LD-NH3-1" and row[2] == "clear" for row in expected), "the leak clears after the restart"
    assert _events(influxd, "victim", end_ns, restarted_ns) == expected
