"""Payload forms plants already publish: bare JSON arrays, InfluxDB line protocol (Telegraf), ThingsBoard gateway.

Decoder behaviour first, then each form end to end through a real mosquitto into a running MqttSource.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import paho.mqtt.client as paho

from collector.app.localservices import LocalMosquitto
from collector.sources.mqtt.decoders import decoder_for
from collector.sources.mqtt.payloads import Decoded
from collector.sources.mqtt.source import mqtt_sources
from collector.sources.mqtt.topics import TopicMatch
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.loader import parse_config
from hazwatch.config.schema import MqttTopic
from hazwatch.quality import Quality
from tests.support.waiting import metric, wait_until

RECEIVED_NS = 1_700_000_000_123_456_789
SLOTS = {"TT-1": 7, "PT-1": 8, "LT-1": 9}
NO_SENSOR = TopicMatch({}, slot=None, sensor=None)
T0_MS = 1_714_550_400_250
T0_NS = T0_MS * 10**6

ARRAY = MqttTopic(pattern="gw/batch", payload="gateway", items_path="", id_path="id", value_path="v", time_path="ts",
                  quality_path="q")  # fmt: skip
INFLUX = MqttTopic(pattern="telegraf/{host}/modbus", payload="influx")
INFLUX_TAGGED = MqttTopic(pattern="telegraf/{host}/points", payload="influx", id_tag="point", value_path="value")
THINGSBOARD = MqttTopic(pattern="v1/gateway/telemetry", payload="thingsboard")
THINGSBOARD_DEVICES = MqttTopic(pattern="v1/gateway/telemetry", payload="thingsboard", id_from="device",
                                value_path="temperature")  # fmt: skip


def decode(topic: MqttTopic, payload: str | bytes | list | dict, binary: frozenset[int] = frozenset()) -> Decoded:
    raw = payload if isinstance(payload, bytes) else payload.encode() if isinstance(payload, str) else json.dumps(
        payload
    ).encode()
    return decoder_for(topic, SLOTS, binary=binary).decode(raw, NO_SENSOR, RECEIVED_NS)


def rows(decoded: Decoded) -> list[tuple[int, int, float, int]]:
    b = decoded.batch
    return list(zip(b.slot.tolist(), b.time_ns.tolist(), b.value.tolist(), b.quality.tolist(), strict=True))


def reasons(decoded: Decoded) -> list[str]:
    return [r.reason for r in decoded.rejections]


class TestBareJsonArrays:
    def test_a_top_level_array_of_readings_is_read_with_an_empty_items_path(self):
        items = [{"id": "TT-1", "v": 70.5, "ts": T0_MS}, {"id": "PT-1", "v": 3.25, "ts": T0_MS, "q": "cal"}]
        decoded = decode(ARRAY, items)
        assert reasons(decoded) == []
        assert rows(decoded) == [(7, T0_NS, 70.5, Quality.GOOD), (8, T0_NS, 3.25, Quality.CALIBRATION)]

    def test_a_bad_item_of_a_bare_array_is_rejected_alone(self):
        decoded = decode(ARRAY, [{"id": "TT-1", "v": "hot"}, {"id": "PT-1", "v": 1.0}])
        assert reasons(decoded) == ["string_value"]
        assert [r[0] for r in rows(decoded)] == [8]

    def test_an_array_where_an_object_path_is_expected_is_still_no_items(self):
        topic = ARRAY.model_copy(update={"items_path": "points"})
        assert reasons(decode(topic, [{"id": "TT-1", "v": 1.0}])) == ["no_items"]


class TestInfluxLineProtocol:
    def test_every_field_of_a_telegraf_line_is_a_sensor_with_the_line_time(self):
        line = f"modbus,host=gw1,slave_id=1 TT-1=70.07,PT-1=339i,LT-1=t {T0_NS}\n"
        decoded = decode(INFLUX, line, binary=frozenset({9}))
        assert reasons(decoded) == []
        assert sorted(rows(decoded)) == [(7, T0_NS, 70.07, 0), (8, T0_NS, 339.0, 0), (9, T0_NS, 1.0, 0)]

    def test_a_boolean_field_on_an_analog_sensor_is_refused_never_stored_as_1(self):
        decoded = decode(INFLUX, f"modbus TT-1=t,PT-1=339i {T0_NS}\n")
        assert reasons(decoded) == ["bool_value"]
        assert rows(decoded) == [(8, T0_NS, 339.0, 0)]

    def test_many_lines_keep_every_reading_and_their_own_times(self):
        lines = "\n".join(f"modbus TT-1={20 + i}.5 {T0_NS + i * 10**9}" for i in range(5))
        decoded = decode(INFLUX, lines)
        assert [(t, v) for _, t, v, _ in rows(decoded)] == [(T0_NS + i * 10**9, 20.5 + i) for i in range(5)]

    def test_seconds_and_milliseconds_precision_read_as_the_same_instant(self):
        seconds = decode(INFLUX, "m TT-1=1 1714550400")
        millis = decode(INFLUX, "m TT-1=1 1714550400000")
        assert rows(seconds)[0][1] == rows(millis)[0][1] == 1_714_550_400 * 10**9

    def test_a_line_without_a_time_is_stamped_on_receipt(self):
        assert rows(decode(INFLUX, "m TT-1=1.5")) == [(7, RECEIVED_NS, 1.5, 0)]

    def test_a_tag_can_name_the_sensor_and_a_quality_tag_or_field_is_honoured(self):
        decoded = decode(
            INFLUX_TAGGED,
            f"points,point=TT-1,quality=comm_fail value=0 {T0_NS}\npoints,point=PT-1 value=2.5,quality=\"cal\" {T0_NS}",
        )
        assert reasons(decoded) == []
        assert rows(decoded) == [(7, T0_NS, 0.0, Quality.OFFLINE), (8, T0_NS, 2.5, Quality.CALIBRATION)]

    def test_broken_lines_unknown_fields_and_text_values_are_rejected_alone(self):
        decoded = decode(INFLUX, f'garbage\nm TT-1=1.5,NOPE=2,PT-1="warm" {T0_NS}\nm LT-1=3 {T0_NS}')
        assert sorted(reasons(decoded)) == ["not_line_protocol", "string_value", "unknown_sensor"]
        assert sorted((s, v) for s, _, v, _ in rows(decoded)) == [(7, 1.5), (9, 3.0)]

    def test_a_line_without_the_id_tag_is_rejected(self):
        assert reasons(decode(INFLUX_TAGGED, "points value=1")) == ["missing_id"]

    def test_binary_garbage_is_rejected_not_raised(self):
        assert reasons(decode(INFLUX, b"\xff\xfe\x00")) == ["not_line_protocol"]


class TestThingsBoardGateway:
    def test_every_sample_of_every_device_is_kept(self):
        decoded = decode(
            THINGSBOARD,
            {
                "Boiler 1": [
                    {"ts": T0_MS, "values": {"TT-1": 70.5, "PT-1": 3.5}},
                    {"ts": T0_MS + 1000, "values": {"TT-1": 71.0, "PT-1": 3.75}},
                ],
                "Tank 2": [{"ts": T0_MS, "values": {"LT-1": 42.0}}, {"ts": T0_MS + 1000, "values": {"LT-1": 42.5}}],
            },
        )
        assert reasons(decoded) == []
        assert rows(decoded) == [
            (7, T0_NS, 70.5, 0), (8, T0_NS, 3.5, 0), (7, T0_NS + 10**9, 71.0, 0), (8, T0_NS + 10**9, 3.75, 0),
            (9, T0_NS, 42.0, 0), (9, T0_NS + 10**9, 42.5, 0),
        ]  # fmt: skip

    def test_device_names_can_be_the_sensors(self):
        decoded = decode(
            THINGSBOARD_DEVICES,
            {"TT-1": [{"ts": T0_MS, "values": {"temperature": 20.5}},
                      {"ts": T0_MS + 5, "values": {"temperature": 21}}]},
        )
        assert rows(decoded) == [(7, T0_NS, 20.5, 0), (7, T0_NS + 5 * 10**6, 21.0, 0)]

    def test_single_device_telemetry_without_a_time_is_stamped_on_receipt(self):
        assert rows(decode(THINGSBOARD, {"values": {"TT-1": 5}})) == [(7, RECEIVED_NS, 5.0, 0)]

    def test_bad_samples_and_values_are_rejected_and_the_rest_kept(self):
        decoded = decode(
            THINGSBOARD,
            {"Boiler 1": [{"ts": T0_MS, "values": {"TT-1": "n/a"}}, {"ts": "yesterday", "values": {"PT-1": 1}}, 7,
                          {"ts": T0_MS, "values": {"LT-1": 9.5}}]},
        )  # fmt: skip
        assert sorted(reasons(decoded)) == ["bad_time", "no_items", "string_value"]
        assert rows(decoded) == [(9, T0_NS, 9.5, 0)]


SITE = "forms-plant"


def forms_config() -> HazwatchConfig:
    sensors = [
        {"id": sensor, "kind": "temperature", "range": [-50, 500]}
        for sensor in ("ARR-1", "ARR-2", "LP-1", "LP-2", "TB-1", "TB-2")
    ]
    devices = [
        {"id": "array-gw", "protocol": "mqtt", "sensors": ["ARR-1", "ARR-2"],
         "topics": [{"pattern": "site/array", "payload": "gateway", "items_path": "", "value_path": "v",
                     "time_path": "ts", "quality_path": None}]},
        {"id": "telegraf", "protocol": "mqtt", "sensors": ["LP-1", "LP-2"],
         "topics": [{"pattern": "telegraf/{host}/modbus", "payload": "influx"}]},
        {"id": "tb-gw", "protocol": "mqtt", "sensors": ["TB-1", "TB-2"],
         "topics": [{"pattern": "v1/gateway/telemetry", "payload": "thingsboard"}]},
    ]  # fmt: skip
    return parse_config(
        {
            "sites": [
                {
                    "id": SITE,
                    "type": "chemical_plant",
                    "areas": [{"id": "unit1", "kind": "process_unit", "sensors": sensors}],
                    "devices": devices,
                }
            ]
        }
    )


def test_all_three_forms_arrive_through_a_real_mosquitto_with_every_sample(mosquitto: LocalMosquitto, run_source):
    config = forms_config()
    registry = SensorRegistry.from_config(config)
    (source,) = mqtt_sources(config, registry, mosquitto.url)
    runner = run_source(source)
    t0 = (time.time_ns() // 10**6 - 60_000) * 10**6
    ms = t0 // 10**6
    publisher = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="forms-publisher")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    try:
        messages = [
            ("site/array", json.dumps([{"id": "ARR-1", "v": 1.5, "ts": ms}, {"id": "ARR-2", "v": 2.5, "ts": ms}])),
            ("telegraf/gw1/modbus",
             f"modbus,host=gw1 LP-1=10.25,LP-2=20i {t0}\nmodbus,host=gw1 LP-1=11.25 {t0 + 10**9}"),
            ("v1/gateway/telemetry", json.dumps({"Boiler": [{"ts": ms, "values": {"TB-1": 30.5, "TB-2": 40.5}},
                                                            {"ts": ms + 1000, "values": {"TB-1": 31.5}}]})),
        ]  # fmt: skip
        for topic, payload in messages:
            publisher.publish(topic, payload, qos=1).wait_for_publish(5)
        wait_until(lambda: len(runner.readings()) >= 8, 10, "eight readings")
    finally:
        publisher.loop_stop()
        publisher.disconnect()
    got = runner.readings()
    seen = sorted(
        (registry.sensors[slot].sensor, t, v)
        for slot, t, v in zip(got.slot.tolist(), got.time_ns.tolist(), got.value.tolist(), strict=True)
    )
    assert seen == sorted([
        ("ARR-1", t0, 1.5), ("ARR-2", t0, 2.5),
        ("LP-1", t0, 10.25), ("LP-2", t0, 20.0), ("LP-1", t0 + 10**9, 11.25),
        ("TB-1", t0, 30.5), ("TB-2", t0, 40.5), ("TB-1", t0 + 10**9, 31.5),
    ]), "every sample of every form, with its own time"  # fmt: skip
    assert np.all(got.quality == Quality.GOOD)
    assert not any(math.isnan(v) for v in got.value.tolist())
    assert metric("hazwatch_payloads_rejected_total", source=source.name, reason="no_items") == 0
