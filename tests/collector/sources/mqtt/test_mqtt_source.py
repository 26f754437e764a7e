"""MqttSource against a real mosquitto, fed by the plant simulator speaking the example config's topics."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import paho.mqtt.client as paho
import pytest
from mqtt_harness import RunningSource

from collector.app.localservices import LocalMosquitto
from collector.sources.mqtt.source import BrokerAddress, mqtt_sources, parse_mqtt_url
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.schema import MqttDevice
from hazwatch.quality import Quality
from simulators.mqtt_publisher import MqttSitePublisher, Served
from simulators.physics.presets import plant_preset
from tests.support.waiting import metric, wait_until


@pytest.fixture
def publisher(plant_config: HazwatchConfig, mosquitto: LocalMosquitto) -> Iterator[MqttSitePublisher]:
    site = plant_config.sites[0]
    publisher = MqttSitePublisher(site, plant_preset(site, seed=7), mosquitto.url)
    publisher.connect()
    yield publisher
    publisher.close()


def config_with_protocol(config: HazwatchConfig, protocol: str) -> HazwatchConfig:
    return config.model_copy(update={"mqtt": config.mqtt.model_copy(update={"protocol": protocol})})


def sensors_by_payload_form(config: HazwatchConfig) -> dict[str, list[str]]:
    forms: dict[str, list[str]] = {}
    for device in config.sites[0].devices:
        if isinstance(device, MqttDevice):
            forms.setdefault(device.topics[0].payload, []).extend(device.sensors)
    return forms


def assert_round_received(
    runner: RunningSource,
    registry: SensorRegistry,
    publisher: MqttSitePublisher,
    served: Served,
    copies_allowed: bool = False,
) -> None:
    """Every sensor arrives exactly once with exactly the value served; devices' own timestamps are kept.

    With `copies_allowed`, a sensor's last reading is the one judged: QoS 1 is at-least-once, and across a broker
    restart a message can come twice (a copy of a stamped reading is the same point in InfluxDB; a plain number's
    copy is stamped on receipt, docs/reliability.md section 1)."""
    slots = np.array([registry.slot("hengda-chem", s) for s in publisher.model.sensors])
    got = runner.wait_for_slots(slots, since_ns=served.time_ns)
    if copies_allowed:
        newest_first = got.take(np.arange(len(got))[::-1])
        got = newest_first.take(np.unique(newest_first.slot, return_index=True)[1])
    assert sorted(got.slot.tolist()) == sorted(slots.tolist()), "each sensor exactly once"
    order = np.argsort(got.slot)
    by_sensor = got.take(order)
    served_order = np.argsort(slots)
    assert np.array_equal(by_sensor.value, served.values[served_order]), "exact float round-trip"
    assert np.all(by_sensor.quality == Quality.GOOD)
    stamped = np.isin(by_sensor.slot, [registry.slot("hengda-chem", s) for s in _timestamped(publisher)])
    assert np.all(by_sensor.time_ns[stamped] == served.time_ns), "gateway and json readings keep the device time"
    assert np.all(by_sensor.time_ns[~stamped] >= served.time_ns), "plain numbers are stamped on receipt"


def _timestamped(publisher: MqttSitePublisher) -> list[str]:
    return [
        publisher.model.sensors[i] for p in publisher.publications if p.topic.payload != "number" for i in p.indices
    ]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_every_plant_sensor_arrives_with_the_served_value_in_all_three_payload_forms(
    plant_config, plant_registry, mosquitto, publisher, run_source, protocol: str
) -> None:
    forms = sensors_by_payload_form(plant_config)
    assert set(forms) == {"gateway", "json", "number"}
    assert sum(map(len, forms.values())) == len(plant_registry) == 33

    (source,) = mqtt_sources(config_with_protocol(plant_config, protocol), plant_registry, mosquitto.url)
    runner = run_source(source)
    for round_ in range(3):
        served = publisher.publish_sample(float(round_ * 60))
        assert_round_received(runner, plant_registry, publisher, served)


def test_garbage_payloads_are_counted_the_process_lives_and_other_sensors_are_unaffected(
    plant_config, plant_registry, mosquitto, publisher, run_source
) -> None:
    (source,) = mqtt_sources(plant_config, plant_registry, mosquitto.url)
    runner = run_source(source)
    garbage = [
        ("plant/gds/r101/R101-LEL", b"not json", "not_json"),
        ("plant/gds/r101/R101-LEL", b'{"reading": {"value": "abc"}}', "string_value"),
        ("plant/gds/r101/R101-LEL", b'{"reading": {"value": NaN}}', "non_finite"),
        ("plant/gds/r101/R101-LEL", b"[1, 2, 3]", "not_object"),
        ("plant/gds/r101/R101-LEL", b'{"reading": {"value": 1.0, "status": "purple"}}', "bad_quality"),
        ("plant/gds/r101/NO-SUCH-SENSOR", b'{"reading": {"value": 1.0}}', "unknown_sensor"),
        ("plant/tanks/T201-LT/pv", b"12,5", "not_number"),
        ("plant/tanks/T201-LT/pv", b"9" * (2 << 20), "too_large"),
        ("plant/dcs/dcs-gw/batch", b'{"points": "everything is fine"}', "no_items"),
        ("plant/dcs/dcs-gw/batch", b'{"points": [{"id": "R101-TT-A", "v": "hot"}]}', "string_value"),
    ]
    before = {
        reason: metric("hazwatch_payloads_rejected_total", source=source.name, reason=reason) for *_, reason in garbage
    }
    expected = {reason: sum(r == reason for *_, r in garbage) for reason in before}
    for topic, payload, _ in garbage:
        publisher.client.publish(topic, payload, qos=1)

    def counted() -> bool:
        return all(
            metric("hazwatch_payloads_rejected_total", source=source.name, reason=reason) - before[reason]
            == expected[reason]
            for reason in before
        )

    wait_until(counted, 10, "every garbage payload to be counted")
    assert runner.alive() and runner.connected
    assert len(runner.readings()) == 0, "garbage must never become a reading"

    served = publisher.publish_sample(0.0)
    assert_round_received(runner, plant_registry, publisher, served)
    assert len(runner.readings()) == len(plant_registry)


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_qos1_messages_published_while_the_collector_is_away_arrive_when_it_returns(
    plant_config, plant_registry, mosquitto, publisher, run_source, protocol: str
) -> None:
    config = config_with_protocol(plant_config, protocol)
    (first,) = mqtt_sources(config, plant_registry, mosquitto.url)
    run_source(first).stop()

    served = publisher.publish_sample(0.0)
    publisher.flush()

    (again,) = mqtt_sources(config, plant_registry, mosquitto.url)
    assert again.client_id == first.client_id
    assert_round_received(run_source(again), plant_registry, publisher, served)


def test_the_source_reconnects_after_a_broker_restart_and_keeps_receiving(
    plant_config, plant_registry, mosquitto, publisher, run_source
) -> None:
    (source,) = mqtt_sources(plant_config, plant_registry, mosquitto.url)
    runner = run_source(source)
    assert_round_received(runner, plant_registry, publisher, publisher.publish_sample(0.0))

    mosquitto.stop()
    wait_until(lambda: not runner.connected, 10, "the source to notice the broker is gone")
    mosquitto.start()
    wait_until(lambda: runner.connected, 15, "the source to reconnect")
    wait_until(publisher.client.is_connected, 15, "the simulator to reconnect")

    assert_round_received(runner, plant_registry, publisher, publisher.publish_sample(60.0), copies_allowed=True)
    assert runner.alive()


def test_a_subscriber_we_did_not_write_sees_the_topics_the_collector_reads(plant_config, mosquitto, publisher) -> None:
    """mosquitto's own view: the simulator publishes on the config's patterns, with QoS 1."""
    seen: list[paho.MQTTMessage] = []
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    client.on_message = lambda _c, _u, message: seen.append(message)
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe("plant/#", qos=1)
    client.loop_start()
    try:
        wait_until(lambda: client.is_connected(), 5, "subscriber")
        served = publisher.publish_sample(0.0)
        wait_until(lambda: len(seen) >= served.messages, 10, "every simulated message")
    finally:
        client.disconnect()
        client.loop_stop()
    topics = {m.topic for m in seen}
    assert "plant/dcs/dcs-gw/batch" in topics
    assert "plant/gds/r101/R101-LEL" in topics
    assert "plant/tanks/T201-LT/pv" in topics
    assert all(m.qos == 1 for m in seen)
    assert served.messages == 1 + 18 + 6


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtt://broker.plant:1884", BrokerAddress("broker.plant", 1884)),
        ("mqtt://10.0.0.5", BrokerAddress("10.0.0.5", 1883)),
        ("mqtts://broker.plant", BrokerAddress("broker.plant", 8883, tls=True)),
        ("mqtt://ops:s%40cret@broker:1883", BrokerAddress("broker", 1883, username="ops", password="s@cret")),
        ("127.0.0.1:2883", BrokerAddress("127.0.0.1", 2883)),
    ],
)
def test_broker_urls(url: str, address: BrokerAddress) -> None:
    assert parse_mqtt_url(url) == address


@pytest.mark.parametrize("url", ["http://broker:1883", "mqtt://", "mqtt://broker:notaport"])
def test_bad_broker_urls_are_refused_with_a_clear_error(url: str) -> None:
    with pytest.raises(ValueError, match="MQTT URL"):
        parse_mqtt_url(url)


def test_booleans_text_and_non_finite_values_on_analog_sensors_are_refused_and_counted(
    plant_config, plant_registry, mosquitto, publisher, run_source
) -> None:
    """The wrong-typed values once stored as good (JSON true as 1.0 on a temperature) never become readings."""
    (source,) = mqtt_sources(plant_config, plant_registry, mosquitto.url)
    runner = run_source(source)
    hostile = [
        ("plant/dcs/dcs-gw/batch", b'{"points": [{"id": "R101-TT-A", "v": true}]}', "bool_value"),
        ("plant/dcs/dcs-gw/batch", b'{"points": [{"id": "R101-TT-B", "v": "71.5"}]}', "string_value"),
        ("plant/dcs/dcs-gw/batch", b'{"points": [{"id": "R101-TT-C", "v": Infinity}]}', "non_finite"),
        ("plant/gds/r101/R101-LEL", b'{"reading": {"value": false}}', "bool_value"),
        ("plant/gds/r101/R101-LEL", b'{"reading": {"value": "5"}}', "string_value"),
        ("plant/gds/r101/R101-LEL", b'{"reading": {"value": -Infinity}}', "non_finite"),
        ("plant/gds/r101/R101-LEL", b'{"reading": {"value": 1e999}}', "non_finite"),
        ("plant/tanks/T201-LT/pv", b"NaN", "non_finite"),
        ("plant/tanks/T201-LT/pv", b"true", "not_number"),
        ("plant/tanks/T201-LT/pv", b"1_000", "not_number"),
    ]
    reasons = {reason for *_, reason in hostile}
    before = {r: metric("hazwatch_payloads_rejected_total", source=source.name, reason=r) for r in reasons}
    expected = {r: sum(h == r for *_, h in hostile) for r in reasons}
    for topic, payload, _ in hostile:
        publisher.client.publish(topic, payload, qos=1)
    smoke = plant_registry.slot("hengda-chem", "UT-SMOKE")
    publisher.client.publish("plant/gds/ut/UT-SMOKE", b'{"reading": {"value": true}}', qos=1)

    def counted() -> bool:
        return all(
            metric("hazwatch_payloads_rejected_total", source=source.name, reason=r) - before[r] == expected[r]
            for r in reasons
        )

    wait_until(counted, 10, "every wrong-typed value to be counted under its reason")
    got = runner.wait_for_slots(np.array([smoke]), since_ns=0)
    assert got.slot.tolist() == [smoke] and got.value.tolist() == [1.0], "a boolean is a binary sensor's reading"
    assert len(runner.readings()) == 1, "no wrong-typed value became a reading"
    slot_of = {s: plant_registry.slot("hengda-chem", s) for s in ("R101-TT-A", "R101-TT-B", "R101-TT-C", "R101-LEL",
                                                                  "T201-LT")}  # fmt: skip
    expected_refused = [slot_of[s] for s in ("R101-TT-A", "R101-TT-B", "R101-TT-C")] + [slot_of["R101-LEL"]] * 4
    expected_refused += [slot_of["T201-LT"]] * 3
    assert sorted(runner.refused) == sorted(expected_refused), "each refused value is reported for its sensor"
