"""The MQTT alarm publisher against a real mosquitto that speaks only TLS, requires a client certificate
and checks a password file: alarm state reaches an HMI on a hardened broker."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from notify_harness import methane_change
from paho.mqtt.enums import CallbackAPIVersion

from collector.app.localservices import LocalMosquitto, free_port
from collector.notify.mqtt_alarms import MqttAlarmSink
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config.schema import MqttSettings
from hazwatch.tls import TlsFiles
from tests.support.tls import Pki, make_pki
from tests.support.waiting import wait_until

SITE, FACE = "xinyuan-mine", "LW-CH4-T1"
S = 1_000_000_000
USER, PASSWORD = "hazwatch-alarms", "alarm-publisher-pw-90d2"
HMI, HMI_PASSWORD = "hmi", "hmi-password-4c1e7b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_broker(pki: Pki, tmp_path: Path) -> Iterator[LocalMosquitto]:
    users = {USER: PASSWORD, HMI: HMI_PASSWORD}
    broker = LocalMosquitto(port=free_port(), data_dir=tmp_path, tls=pki.server, users=users)
    broker.start()
    yield broker
    broker.stop()


def retained_over_tls(broker: LocalMosquitto, pki: Pki, topic: str, timeout: float = 10.0) -> dict:
    received: queue.Queue = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hmi-{time.monotonic_ns()}")
    client.username_pw_set(HMI, HMI_PASSWORD)
    client.tls_set_context(TlsFiles(str(pki.ca_file), str(pki.client_cert), str(pki.client_key)).context())
    client.on_message = lambda c, u, message: received.put(message)
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        message = received.get(timeout=timeout)
    finally:
        client.loop_stop()
        client.disconnect()
    assert message.retain
    return json.loads(message.payload)


def settings(broker: LocalMosquitto, pki: Pki, **update: str | None) -> MqttSettings:
    files = {"ca_file": str(pki.ca_file), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
    return MqttSettings(url=broker.url, client_id="hazwatch-tls", **{**files, **update})


@pytest.mark.anyio
async def test_alarm_state_is_published_to_a_broker_requiring_tls_client_certificates_and_passwords(
    mine_registry, tls_broker, pki, monkeypatch
) -> None:
    monkeypatch.setenv("HAZWATCH_MQTT_USER", USER)
    monkeypatch.setenv("HAZWATCH_MQTT_PASSWORD", PASSWORD)
    face = mine_registry.slot(SITE, FACE)
    sink = MqttAlarmSink(settings(tls_broker, pki), mine_registry)
    await sink.run()
    wait_until(sink.client.is_connected, 10, "the alarm publisher to connect over TLS")
    sink.submit_events(AlarmLifecycle().apply([methane_change(face, 2, 1 * S, 1.6)], 1 * S))
    state = retained_over_tls(tls_broker, pki, f"hazwatch/alarms/{SITE}/{FACE}")
    assert (state["state"], state["level"], state["level_name"]) == ("unacknowledged", 2, "power_cut")
    await sink.close()
