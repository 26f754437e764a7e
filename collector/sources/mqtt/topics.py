"""Config topic patterns compiled once at start-up into MQTT subscription filters and matchers.

A pattern such as `plant/gds/{area}/{sensor}` subscribes as `plant/gds/+/+`; a received topic is
matched back against the pattern to read its named segments. The `{sensor}` segment (or a topic's
fixed `sensor`) is resolved to a registry slot through a dict built here, so the per-message work
is one regex match and one dict lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hazwatch.config.schema import MqttDevice, MqttTopic

_SEGMENT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def subscription_filter(pattern: str) -> str:
    """Every topic level holding a named segment becomes the single-level wildcard `+`."""
    return "/".join("+" if _SEGMENT.search(level) else level for level in pattern.split("/"))


def topic_regex(pattern: str) -> re.Pattern[str]:
    """A regex with one named group per segment; a segment matches within one topic level only."""
    parts: list[str] = []
    position = 0
    for match in _SEGMENT.finditer(pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+)")
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts))


@dataclass(frozen=True, slots=True)
class TopicMatch:
    segments: dict[str, str]
    slot: int | None
    """The sensor's slot from `{sensor}` or the fixed `sensor`; None for gateway topics and unknown sensors."""
    sensor: str | None


@dataclass(frozen=True)
class TopicBinding:
    """One configured topic of one device, with the sensor ids it may carry already resolved to slots."""

    site: str
    device: MqttDevice
    topic: MqttTopic
    subscription: str
    regex: re.Pattern[str]
    slots: dict[str, int]
    """Sensor id -> slot for the sensors this device may publish."""

    @classmethod
    def compile(cls, site: str, device: MqttDevice, topic: MqttTopic, site_slots: dict[str, int]) -> TopicBinding:
        allowed = [*device.sensors, *(t.sensor for t in device.topics if t.sensor)]
        slots = {sensor: site_slots[sensor] for sensor in allowed if sensor in site_slots} if allowed else site_slots
        return cls(site, device, topic, subscription_filter(topic.pattern), topic_regex(topic.pattern), slots)

    @property
    def qos(self) -> int:
        return self.device.qos

    def match(self, topic: str) -> TopicMatch | None:
        """The segments of `topic` when it fits this pattern, else None (another binding may own it)."""
        found = self.regex.fullmatch(topic)
        if found is None:
            return None
        segments = found.groupdict()
        sensor = self.topic.sensor or segments.get("sensor")
        slot = self.slots.get(sensor) if sensor is not None else None
        return TopicMatch(segments, slot, sensor)
