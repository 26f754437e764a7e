"""MQTT source: topic patterns, payload decoding and the paho-based subscriber; plus a demo broker."""

from collector.mqtt.embedded_broker import EmbeddedBroker, embedded_broker
from collector.mqtt.source import BrokerAddress, MqttSource, mqtt_sources, parse_mqtt_url

__all__ = ["BrokerAddress", "EmbeddedBroker", "MqttSource", "embedded_broker", "mqtt_sources", "parse_mqtt_url"]
