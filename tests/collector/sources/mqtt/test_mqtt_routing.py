"""One MQTT connection for every site on the broker: each received topic reaches the configured topic that owns it."""

from __future__ import annotations

import json

import numpy as np
import paho.mqtt.client as paho
import pytest

from collector.app.localservices import LocalMosquitto
from collector.sources.mqtt.decoders import decoder_for
from collector.sources.mqtt.routing import Route, RouteTable
from collector.sources.mqtt.source import SUBSCRIBE_CHUNK, BrokerAddress, MqttSource, mqtt_sources
from collector.sources.mqtt.topics import TopicBinding
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.schema import MqttDevice, MqttTopic
from simulators.mqtt_publisher import MqttSitePublisher
from simulators.physics.presets import plant_preset
from tests.support.waiting import metric, wait_until


def route(site: str, pattern: str, sensors: dict[str, int], payload: str = "json") -> Route:
    topic = MqttTopic(pattern=pattern, payload=payload, value_path="v", time_path="ts", quality_path="q")
    device = MqttDevice(id=f"dev-{site}", protocol="mqtt", sensors=list(sensors), topics=[topic])
    binding = TopicBinding.compile(site, device, topic, sensors)
    return Route(binding, decoder_for(topic, binding.slots))


def plant_sites(config: HazwatchConfig, copies: int) -> HazwatchConfig:
    """The example plant `copies` times, each site publishing under its own id as the first topic level."""
    template = config.sites[0]
    sites = []
    for k in range(copies):
        site_id = f"{template.id}-{k}"
        devices = [
            d.model_copy(
                update={"topics": [t.model_copy(update={"pattern": f"{site_id}/{t.pattern}"}) for t in d.topics]}
            )
            if isinstance(d, MqttDevice)
            else d
            for d in template.devices
        ]
        sites.append(template.model_copy(update={"id": site_id, "devices": devices}))
    return config.model_copy(update={"sites": sites})


class TestRouteTable:
    def test_each_topic_reaches_its_own_sites_route_among_thousands(self) -> None:
        table = RouteTable(
            route(f"mine-{i}", f"mine-{i}/{{area}}/{{sensor}}", {"CH4": 2 * i, "CO": 2 * i + 1}) for i in range(3000)
        )
        for i in (0, 1234, 2999):
            found = table.find(f"mine-{i}/face/CO")
            assert found is not None
            owner, match = found
            assert owner.binding.site == f"mine-{i}"
            assert (match.segments, match.slot) == ({"area": "face", "sensor": "CO"}, 2 * i + 1)

    def test_when_several_patterns_fit_the_first_in_config_order_wins(self) -> None:
        wide = route("a", "plant/{area}/{sensor}", {"TT": 1})
        narrow = route("b", "plant/tanks/{sensor}", {"TT": 2})
        assert RouteTable([wide, narrow]).find("plant/tanks/TT")[0] is wide
        assert RouteTable([narrow, wide]).find("plant/tanks/TT")[0] is narrow
        assert RouteTable([narrow, wide]).find("plant/gds/TT")[0] is wide

    def test_a_segment_inside_a_level_is_checked_and_other_patterns_still_tried(self) -> None:
        suffixed = route("a", "plant/{sensor}-pv", {"LT": 1})
        plain = route("b", "plant/{sensor}", {"LT": 2, "LT-sp": 3})
        table = RouteTable([suffixed, plain])
        assert table.find("plant/LT-pv")[1].slot == 1
        assert table.find("plant/LT-sp")[0] is plain

    @pytest.mark.parametrize(
        "topic", ["plant", "plant/tanks", "plant/tanks/TT/extra", "other/tanks/TT", "plant/x/", ""]
    )
    def test_topics_no_pattern_fits_find_nothing(self, topic: str) -> None:
        table = RouteTable(
            [route("a", "plant/{area}/{sensor}", {"TT": 1}), route("b", "plant/x", {"TT": 2}, payload="gateway")]
        )
        assert table.find(topic) is None


def test_every_site_on_the_broker_shares_one_source_and_keeps_its_own_sensors(
    plant_config, mosquitto: LocalMosquitto, run_source
) -> None:
    config = plant_sites(plant_config, 3)
    registry = SensorRegistry.from_config(config)
    sources = mqtt_sources(config, registry, mosquitto.url)
    assert len(sources) == 1, "one broker connection for all sites"
    runner = run_source(sources[0])
    publishers = [
        MqttSitePublisher(site, plant_preset(site, seed=k), mosquitto.url) for k, site in enumerate(config.sites)
    ]
    try:
        for publisher in publishers:
            publisher.connect()
        served = [publisher.publish_sample(0.0) for publisher in publishers]
        every_slot = np.arange(len(registry))
        got = runner.wait_for_slots(every_slot, since_ns=min(s.time_ns for s in served))
    finally:
        for publisher in publishers:
            publisher.close()
    assert len(got) == len(registry) == 3 * 33, "each sensor of each site exactly once"
    for site, publisher, sample in zip(config.sites, publishers, served, strict=True):
        slots = np.array([registry.slot(site.id, s) for s in publisher.model.sensors])
        by_slot = dict(zip(got.slot.tolist(), got.value.tolist(), strict=True))
        assert [by_slot[s] for s in slots.tolist()] == sample.values.tolist(), f"{site.id}'s values in its own slots"


def test_thousands_of_site_topics_subscribe_in_several_packets_and_all_are_read(
    mosquitto: LocalMosquitto, run_source
) -> None:
    sites = 3 * SUBSCRIBE_CHUNK + 7
    routes = [route(f"mine-{i}", f"province/mine-{i}/gateway", {"CH4": i}, payload="gateway") for i in range(sites)]
    source = MqttSource("mqtt-many", BrokerAddress("127.0.0.1", mosquitto.port), "hazwatch-many", routes)
    assert len(source.subscriptions) == sites
    runner = run_source(source)
    assert metric("hazwatch_mqtt_connected", source="mqtt-many") == 1
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        for i in (0, SUBSCRIBE_CHUNK, sites - 1):
            body = {"ts": 1_700_000_000_000, "points": [{"id": "CH4", "v": i / 100, "q": 0}]}
            client.publish(f"province/mine-{i}/gateway", json.dumps(body), qos=1).wait_for_publish(5)
        wait_until(lambda: len(runner.readings()) == 3, 10, "one reading from each of three sites")
    finally:
        client.loop_stop()
        client.disconnect()
    got = runner.readings()
    assert got.slot.tolist() == [0, SUBSCRIBE_CHUNK, sites - 1]
    assert got.value.tolist() == [0.0, SUBSCRIBE_CHUNK / 100, (sites - 1) / 100]
