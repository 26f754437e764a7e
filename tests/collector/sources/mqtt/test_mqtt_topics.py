"""Topic patterns: what the collector subscribes to, and how a received topic maps back to a sensor."""

from __future__ import annotations

import pytest

from collector.sources.mqtt.topics import TopicBinding, subscription_filter
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.schema import MqttDevice, MqttTopic


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("plant/gds/{area}/{sensor}", "plant/gds/+/+"),
        ("plant/dcs/{gateway}/batch", "plant/dcs/+/batch"),
        ("plant/tanks/{sensor}/pv", "plant/tanks/+/pv"),
        ("plant/tanks/{sensor}_pv", "plant/tanks/+"),
        ("site/fixed/level", "site/fixed/level"),
    ],
)
def test_named_segments_subscribe_as_single_level_wildcards(pattern: str, expected: str) -> None:
    assert subscription_filter(pattern) == expected


def _binding(plant_config: HazwatchConfig, plant_registry: SensorRegistry, device_id: str) -> TopicBinding:
    site = plant_config.sites[0]
    device = next(d for d in site.devices if d.id == device_id)
    return TopicBinding.compile(site.id, device, device.topics[0], plant_registry.slots_of_site(site.id))


def test_a_received_topic_yields_its_segments_and_the_sensor_slot(plant_config, plant_registry) -> None:
    binding = _binding(plant_config, plant_registry, "gds")
    match = binding.match("plant/gds/r101/R101-LEL")
    assert match is not None
    assert match.segments == {"area": "r101", "sensor": "R101-LEL"}
    assert match.slot == plant_registry.slot("hengda-chem", "R101-LEL")


@pytest.mark.parametrize(
    "topic",
    ["plant/gds/r101", "plant/gds/r101/R101-LEL/extra", "plant/dcs/r101/R101-LEL", "plant/gds//R101-LEL"],
)
def test_topics_that_do_not_fit_the_pattern_do_not_match(plant_config, plant_registry, topic: str) -> None:
    assert _binding(plant_config, plant_registry, "gds").match(topic) is None


def test_a_sensor_the_device_does_not_publish_has_no_slot(plant_config, plant_registry) -> None:
    """T201-LT belongs to the tank PLC: the gas detection topic must not claim it."""
    match = _binding(plant_config, plant_registry, "gds").match("plant/gds/tf2/T201-LT")
    assert match is not None
    assert match.sensor == "T201-LT"
    assert match.slot is None


def test_a_fixed_sensor_topic_resolves_without_a_sensor_segment(plant_config, plant_registry) -> None:
    site = plant_config.sites[0]
    device = MqttDevice(
        id="o2-analyser",
        protocol="mqtt",
        topics=[MqttTopic(pattern="plant/{area}/o2/reading", payload="number", sensor="TF2-O2")],
    )
    binding = TopicBinding.compile(site.id, device, device.topics[0], plant_registry.slots_of_site(site.id))
    assert binding.subscription == "plant/+/o2/reading"
    match = binding.match("plant/tf2/o2/reading")
    assert match is not None
    assert match.slot == plant_registry.slot(site.id, "TF2-O2")


def test_a_segment_inside_a_level_matches_only_within_that_level(plant_config, plant_registry) -> None:
    site = plant_config.sites[0]
    device = MqttDevice(
        id="plc",
        protocol="mqtt",
        sensors=["T201-LT"],
        topics=[MqttTopic(pattern="tanks/{sensor}_pv", payload="number")],
    )
    binding = TopicBinding.compile(site.id, device, device.topics[0], plant_registry.slots_of_site(site.id))
    match = binding.match("tanks/T201-LT_pv")
    assert match is not None
    assert match.slot == plant_registry.slot(site.id, "T201-LT")
    assert binding.match("tanks/a/T201-LT_pv") is None
