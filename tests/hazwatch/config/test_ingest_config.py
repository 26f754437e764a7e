"""Config of the ingest paths plants already run: Modbus unit ids and quirks, MQTT payload forms, Sparkplug B."""

from __future__ import annotations

import pytest

from hazwatch.config import ConfigError
from hazwatch.config.loader import parse_config


def site(device: dict) -> dict:
    sensors = [{"id": s, "kind": "temperature", "range": [0, 200]} for s in ("T1", "T2")]
    area = {"id": "a", "kind": "process_unit", "sensors": sensors}
    return {"sites": [{"id": "s", "type": "chemical_plant", "areas": [area], "devices": [device]}]}


def refused(device: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(site(device))
    return [(p.path, p.reason) for p in caught.value.problems]


MODBUS = {"id": "plc", "protocol": "modbus", "host": "10.0.0.1", "registers": [{"sensor": "T1", "address": 0}]}
NODE = {"group_id": "g", "edge_node_id": "e", "metrics": [{"sensor": "T1", "metric": "Temp"}]}
SPARKPLUG = {"id": "edge", "protocol": "mqtt", "sparkplug": NODE}


@pytest.mark.parametrize("unit", [0, 247, 248, 255])
def test_every_modbus_unit_id_up_to_255_is_accepted(unit: int):
    device = parse_config(site({**MODBUS, "unit_id": unit})).sites[0].devices[0]
    assert device.unit_id == unit


def test_a_unit_id_beyond_255_and_a_read_cap_beyond_the_protocol_are_refused():
    problems = refused({**MODBUS, "unit_id": 256, "max_registers_per_request": 126})
    assert [path for path, _ in problems] == [
        "sites[0].devices[0].unit_id",
        "sites[0].devices[0].max_registers_per_request",
    ]


def test_a_sparkplug_node_needs_no_topics_and_its_sensors_are_read_by_it():
    config = parse_config(site(SPARKPLUG))
    assert config.sites[0].devices[0].sparkplug.metrics[0].sensor == "T1"


def test_a_sparkplug_metric_naming_an_unknown_sensor_is_refused_with_its_path():
    node = {**SPARKPLUG["sparkplug"], "metrics": [{"sensor": "T1", "metric": "A"}, {"sensor": "T9", "metric": "B"}]}
    assert refused({**SPARKPLUG, "sparkplug": node}) == [
        ("sites[0].devices[0].sparkplug.metrics[1].sensor", "no such sensor in this site")
    ]


def test_an_mqtt_device_with_neither_topics_nor_sparkplug_is_refused():
    [(path, reason)] = refused({"id": "m", "protocol": "mqtt"})
    assert path == "sites[0].devices[0]" and "topics" in reason and "sparkplug" in reason


def test_a_sparkplug_id_that_is_not_one_topic_level_is_refused():
    node = {**SPARKPLUG["sparkplug"], "edge_node_id": "line/1"}
    assert [path for path, _ in refused({**SPARKPLUG, "sparkplug": node})] == [
        "sites[0].devices[0].sparkplug.edge_node_id"
    ]
