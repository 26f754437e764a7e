"""MqttSource against a real mosquitto that speaks only TLS, requires a client certificate signed by the
site's CA and checks a password file: the hardened broker of docs/security.md."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from mqtt_harness import RunningSource

from collector.app.localservices import LocalMosquitto, free_port
from collector.sources.mqtt.source import mqtt_sources
from hazwatch.config import HazwatchConfig
from hazwatch.tls import TlsFiles
from simulators.mqtt_publisher import MqttSitePublisher
from simulators.physics.presets import plant_preset
from tests.support.tls import Pki, make_pki

USER, PASSWORD = "hazwatch", "broker-password-7f3a9c"
SIM_USER, SIM_PASSWORD = "plant-sim", "simulator-password-51be"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_broker(pki: Pki, tmp_path: Path) -> Iterator[LocalMosquitto]:
    broker = LocalMosquitto(
        port=free_port(), data_dir=tmp_path, tls=pki.server, users={USER: PASSWORD, SIM_USER: SIM_PASSWORD}
    )
    broker.start()
    yield broker
    broker.stop()


def hardened(config: HazwatchConfig, broker: LocalMosquitto, **tls: str | None) -> HazwatchConfig:
    mqtt = config.mqtt.model_copy(update={"url": broker.url, **tls})
    return config.model_copy(update={"mqtt": mqtt})


def client_files(pki: Pki) -> dict[str, str]:
    return {"ca_file": str(pki.ca_file), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}


@pytest.fixture
def tls_publisher(plant_config: HazwatchConfig, tls_broker: LocalMosquitto, pki: Pki) -> Iterator[MqttSitePublisher]:
    site = plant_config.sites[0]
    files = TlsFiles(str(pki.ca_file), str(pki.client_cert), str(pki.client_key))
    model = plant_preset(site, seed=3)
    publisher = MqttSitePublisher(site, model, tls_broker.url, "5", files, (SIM_USER, SIM_PASSWORD))
    publisher.connect()
    yield publisher
    publisher.close()


def test_the_source_reads_a_broker_requiring_tls_a_client_certificate_and_a_password(
    plant_config, plant_registry, tls_broker, tls_publisher, pki, run_source, monkeypatch
) -> None:
    monkeypatch.setenv("HAZWATCH_MQTT_USER", USER)
    monkeypatch.setenv("HAZWATCH_MQTT_PASSWORD", PASSWORD)
    (source,) = mqtt_sources(hardened(plant_config, tls_broker, **client_files(pki)), plant_registry)
    assert source.address.tls and source.address.port == tls_broker.port
    runner = run_source(source)
    served = tls_publisher.publish_sample(0.0)
    slots = np.array([plant_registry.slot("hengda-chem", s) for s in tls_publisher.model.sensors])
    got = runner.wait_for_slots(slots, since_ns=served.time_ns)
    assert sorted(got.slot.tolist()) == sorted(slots.tolist())


def _never_connects(runner: RunningSource, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if runner.connected:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize(
    ("what", "files", "password"),
    [
        ("no client certificate", {"cert_file": None, "key_file": None}, PASSWORD),
        ("a wrong password", {}, "not-the-password-at-all"),
        ("a broker certificate of another CA", {"ca_file": "other"}, PASSWORD),
    ],
)
def test_the_source_never_connects_with(
    what, files, password, plant_config, plant_registry, tls_broker, pki, monkeypatch
) -> None:
    monkeypatch.setenv("HAZWATCH_MQTT_USER", USER)
    monkeypatch.setenv("HAZWATCH_MQTT_PASSWORD", password)
    tls = {**client_files(pki), **files}
    if tls.get("ca_file") == "other":
        tls["ca_file"] = str(pki.other_ca_file)
    (source,) = mqtt_sources(hardened(plant_config, tls_broker, **tls), plant_registry)
    runner = RunningSource(source).start()
    try:
        assert _never_connects(runner), f"connected with {what}"
        assert runner.alive(), "a refused connection is retried, never a crash"
    finally:
        runner.stop()


def test_the_broker_password_can_come_from_a_file(
    plant_config, plant_registry, tls_broker, tls_publisher, pki, run_source, monkeypatch, tmp_path
) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    monkeypatch.setenv("HAZWATCH_MQTT_USER", USER)
    monkeypatch.delenv("HAZWATCH_MQTT_PASSWORD", raising=False)
    config = hardened(plant_config, tls_broker, password_file=str(secret), **client_files(pki))
    (source,) = mqtt_sources(config, plant_registry)
    runner = run_source(source)
    served = tls_publisher.publish_sample(0.0)
    slot = plant_registry.slot("hengda-chem", tls_publisher.model.sensors[0])
    runner.wait_for_slots(np.array([slot]), since_ns=served.time_ns)
