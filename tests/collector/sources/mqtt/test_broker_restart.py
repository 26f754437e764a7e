"""A real mosquitto killed (kill -9) and restarted under a running collector and `hazwatch simulate plant`:
both reconnect within seconds, and, with the persistence settings docs/security.md gives, not one QoS 1
message the broker acknowledged is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from collector.app.localservices import LocalMosquitto, free_port
from collector.sources.mqtt.source import mqtt_sources
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.examples import PLANT_EXAMPLE
from hazwatch.quality import Quality
from simulators.mqtt_publisher import MqttSitePublisher
from simulators.physics.presets import plant_preset
from tests.support.waiting import wait_until_settled

SITE = "hengda-chem"


def kill_and_restart(broker: LocalMosquitto, down_for: float) -> float:
    """kill -9 the broker, keep it down `down_for` seconds, start it on the same port; returns when it listens."""
    assert broker.process is not None
    broker.process.kill()
    broker.process.wait()
    broker.process = None
    time.sleep(down_for)
    broker.start()
    return time.monotonic()


@pytest.fixture
def broker(tmp_path: Path):
    server = LocalMosquitto(port=free_port(), data_dir=tmp_path, saves="change")
    server.start()
    yield server
    server.stop()


def test_after_a_broker_kill_the_simulator_survives_and_the_first_reading_arrives_within_seconds(
    plant_config: HazwatchConfig, plant_registry: SensorRegistry, broker: LocalMosquitto, run_source
) -> None:
    simulator = subprocess.Popen(
        [sys.executable, "-m", "collector", "simulate", "plant", str(PLANT_EXAMPLE), "--mqtt-url", broker.url,
         "--interval", "0.2", "--duration", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        (source,) = mqtt_sources(plant_config, plant_registry, broker.url)
        runner = run_source(source)
        slots = np.array([plant_registry.slot(SITE, s) for s in ("R101-TT-A", "R101-PT")])
        runner.wait_for_slots(slots, timeout=60)

        restarted = kill_and_restart(broker, down_for=8.0)  # paho's default backoff: next try 7 s after
        restarted_ns = time.time_ns()
        runner.wait_for_slots(slots, since_ns=restarted_ns, timeout=30)
        first_reading_s = time.monotonic() - restarted
        print(f"first reading {first_reading_s:.2f} s after the broker came back")
        assert first_reading_s < 5.0, f"first reading {first_reading_s:.1f} s after the broker came back"
        assert simulator.poll() is None, "hazwatch simulate plant survived its broker dying"
        # Rounds published 2 s after the restart went out connected: the simulator has said it is back.
        runner.wait_for_slots(slots, since_ns=restarted_ns + 2 * 10**9, timeout=30)
    finally:
        simulator.send_signal(signal.SIGINT)
        _, err = simulator.communicate(timeout=30)
    assert simulator.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert "unreachable" in err and "reachable again" in err


def test_qos1_messages_queued_for_the_collector_survive_a_broker_kill(
    plant_config: HazwatchConfig, plant_registry: SensorRegistry, broker: LocalMosquitto, run_source
) -> None:
    """The collector is away (its persistent session holds the messages), the broker acknowledges every
    message to the devices, then dies with kill -9: after the restart the collector gets all of them."""
    config = plant_config.model_copy(
        update={"mqtt": plant_config.mqtt.model_copy(update={"client_id": f"hazwatch-restart-{os.getpid()}"})}
    )
    (source,) = mqtt_sources(config, plant_registry, broker.url)
    runner = run_source(source)
    runner.stop()  # away: the broker keeps the session and queues QoS 1 messages for it

    site = plant_config.sites[0]
    publisher = MqttSitePublisher(site, plant_preset(site, seed=5), broker.url)
    publisher.connect()
    rounds = 20
    served = [publisher.publish_sample(float(i), time.time_ns() - (rounds - i) * 1_000_000_000) for i in range(rounds)]
    publisher.flush(timeout=10)
    assert not publisher._in_flight, "the broker acknowledged every message"
    publisher.close()
    plain = [i for p in publisher.publications if p.topic.payload == "number" for i in p.indices]
    # Plain-number topics carry good readings only; the JSON forms carry every reading with its quality.
    expected = sum(len(s.values) - int(np.sum(s.quality[plain] != Quality.GOOD)) for s in served)

    # Saving after every change is a pass mosquitto makes after it has answered: let its store settle before the
    # kill (with mosquitto's default settings nothing is saved for 30 minutes, and this wait would not help).
    store = broker.data_dir / "mosquitto.db"
    wait_until_settled(lambda: store.stat().st_mtime_ns if store.exists() else 0, timeout=10, quiet_s=1.0)
    kill_and_restart(broker, down_for=0.5)
    (again,) = mqtt_sources(config, plant_registry, broker.url)
    runner = run_source(again)
    deadline = time.monotonic() + 30
    while len(runner.readings()) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    got = runner.readings()
    assert len(got) == expected, f"{expected - len(got)} acknowledged readings lost in the broker kill"
