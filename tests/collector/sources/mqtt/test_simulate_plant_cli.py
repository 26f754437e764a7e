"""`hazwatch simulate plant` as a user runs it: a real process publishing to a real broker the collector reads."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from collector.app.localservices import free_port
from collector.sources.mqtt import mqtt_sources
from hazwatch.config.examples import PLANT_EXAMPLE as PLANT_CONFIG
from tests.support.waiting import wait_until


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from collector.app.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_simulate_plant_publishes_every_sensor_until_its_duration_and_exits_0(
    plant_config, plant_registry, mosquitto, run_source
) -> None:
    (source,) = mqtt_sources(plant_config, plant_registry, mosquitto.url)
    runner = run_source(source)
    started_ns = time.time_ns()
    started = time.monotonic()
    result = run_cli(
        "simulate", "plant", str(PLANT_CONFIG), "--mqtt-url", mosquitto.url, "--interval", "0.25", "--duration", "2"
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "hengda-chem" in result.stdout
    assert 2 <= elapsed < 15

    def every_sensor_in_several_rounds() -> bool:
        got = runner.readings()
        fresh = got.slot[got.time_ns >= started_ns // 10**6 * 10**6]
        return np.bincount(fresh, minlength=len(plant_registry)).min() >= 5  # about 8 rounds in 2 s

    wait_until(every_sensor_in_several_rounds, 10, "every sensor in several rounds")


def test_an_unreachable_broker_is_a_runtime_failure_with_a_clear_message() -> None:
    result = run_cli("simulate", "plant", str(PLANT_CONFIG), "--mqtt-url", f"mqtt://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "cannot reach the MQTT broker" in result.stderr


def test_a_config_without_mqtt_devices_is_refused_with_exit_2(tmp_path) -> None:
    config = tmp_path / "no-mqtt.yaml"
    config.write_text(
        "sites:\n- id: s\n  type: chemical_plant\n  areas:\n  - id: a\n    kind: utility\n"
        "    sensors:\n    - id: O2-1\n      kind: O2\n"
    )
    result = run_cli("simulate", "plant", str(config), "--mqtt-url", "mqtt://127.0.0.1:1883")
    assert result.returncode == 2
    assert "no MQTT devices" in result.stderr
