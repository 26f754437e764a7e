"""MQTT source: topic patterns, payload decoding and the paho-based subscriber."""

from collector.sources.mqtt.source import BrokerAddress, MqttSource, mqtt_sources, parse_mqtt_url

__all__ = ["BrokerAddress", "MqttSource", "mqtt_sources", "parse_mqtt_url"]
