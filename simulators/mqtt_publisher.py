"""Publish a simulated site over MQTT exactly as its config says the real devices do.

Topics and payload forms come from the same MqttDevice/MqttTopic entries the collector reads:
a gateway device sends one JSON message with all its sensors, a json device one message per
sensor on its pattern, a number device plain text. Floats are written with Python's shortest
round-trip repr, so the collector must read back exactly the value served.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import paho.mqtt.client as paho

from hazwatch.config.schema import MqttDevice, MqttTopic, Site
from hazwatch.quality import QUALITY_NAMES, Quality
from hazwatch.tls import TlsFiles
from simulators.model import SiteModel

log = logging.getLogger("hazwatch.simulators.mqtt")

_SEGMENT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_pattern(pattern: str, segments: dict[str, str], default: str) -> str:
    """Replace named segments; a name the publisher has no value for gets `default` (the device id)."""
    return _SEGMENT.sub(lambda m: segments.get(m.group(1), default), pattern)


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value


def rfc3339(time_ns: int) -> str:
    seconds, ns = divmod(time_ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns // 1000:06d}Z"


Message = tuple[str, bytes, int, list[int]]
"""(topic, payload, qos, indices into the model's arrays of the sensors it carries)"""


@dataclass(frozen=True)
class _Publication:
    """One topic of one device and the sensors (indices into the model's arrays) it carries."""

    device: MqttDevice
    topic: MqttTopic
    indices: list[int]


@dataclass(frozen=True)
class Served:
    """What one round published: the collector should read back exactly these values and times."""

    time_ns: int
    values: np.ndarray
    quality: np.ndarray
    messages: int


class MqttSitePublisher:
    """Publishes a SiteModel's samples on the topics of a site's MQTT devices (QoS from each device)."""

    def __init__(
        self,
        site: Site,
        model: SiteModel,
        url: str,
        protocol: str = "3.1.1",
        tls_files: TlsFiles | None = None,
        credentials: tuple[str, str | None] | None = None,
    ) -> None:
        """`credentials` (user, password) win over those in `url`; `tls_files` apply to mqtts:// URLs."""
        self.site = site
        self.model = model
        index = {sensor: i for i, sensor in enumerate(model.sensors)}
        self.area_of = {s.id: a.id for a in site.areas for s in a.sensors}
        self.publications = [
            _Publication(device, topic, [index[s] for s in sensors if s in index])
            for device in site.devices
            if isinstance(device, MqttDevice)
            for topic, sensors in _sensors_per_topic(device)
        ]
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme in ("mqtts", "ssl")
        self.port = parts.port or (8883 if self.tls else 1883)
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"hazwatch-sim-{site.id}-{os.getpid()}",
            protocol=paho.MQTTv5 if protocol == "5" else paho.MQTTv311,
        )
        if credentials is not None:
            self.client.username_pw_set(*credentials)
        elif parts.username:
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or "") or None)
        if self.tls:
            self.client.tls_set_context((tls_files or TlsFiles()).context())
        self.client.reconnect_delay_set(0.5, 1)
        self.client.max_inflight_messages_set(1000)  # an outage's backlog drains in a few round trips, not 20 at a time
        self._in_flight: list[paho.MQTTMessageInfo] = []
        self._connected = True

    def connect(self) -> None:
        """Connect now (raising OSError when the broker is unreachable), then keep reconnecting in the background."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until the broker has acknowledged every QoS 1 message published so far (while it is reachable)."""
        deadline = time.monotonic() + timeout
        for info in self._in_flight:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                break  # the broker is gone: paho keeps the QoS 1 messages and sends them when it is back
        self._in_flight = [info for info in self._in_flight if _unacknowledged(info)]

    def messages(self, time_ns: int, values: np.ndarray, quality: np.ndarray) -> list[Message]:
        """(topic, payload, qos, indices of the sensors it carries) of every message for one sample of the model."""
        values_list = values.tolist()
        quality_list = quality.tolist()
        out: list[Message] = []
        for pub in self.publications:
            device, topic = pub.device, pub.topic
            if topic.payload == "gateway":
                segments = {"gateway": device.id, "device": device.id, "site": self.site.id}
                if device.area:
                    segments["area"] = device.area
                items = [
                    self._fields(
                        topic, values_list[i], quality_list[i], time_ns // 10**6, {topic.id_path: self.model.sensors[i]}
                    )
                    for i in pub.indices
                ]
                document: dict[str, Any] = {}
                _set_path(document, topic.items_path, items)
                name = fill_pattern(topic.pattern, segments, device.id)
                out.append((name, _dumps(document), device.qos, pub.indices))
                continue
            for i in pub.indices:
                sensor = self.model.sensors[i]
                segments = {"sensor": sensor, "area": self.area_of[sensor], "device": device.id, "site": self.site.id}
                name = fill_pattern(topic.pattern, segments, device.id)
                if topic.payload == "number":
                    if quality_list[i] == Quality.GOOD:
                        out.append((name, repr(values_list[i]).encode(), device.qos, [i]))
                    continue
                document = self._fields(topic, values_list[i], quality_list[i], rfc3339(time_ns), {})
                out.append((name, _dumps(document), device.qos, [i]))
        return out

    @staticmethod
    def _fields(topic: MqttTopic, value: float, quality: int, stamp: Any, base: dict[str, Any]) -> dict[str, Any]:
        document = dict(base)
        _set_path(document, topic.value_path, None if np.isnan(value) else value)
        if topic.time_path:
            _set_path(document, topic.time_path, stamp)
        if topic.quality_path:
            _set_path(document, topic.quality_path, QUALITY_NAMES[quality])
        return document

    def publish_sample(self, t_s: float, time_ns: int | None = None) -> Served:
        """Sample the model at simulated time t_s and publish it stamped `time_ns` (now, to the millisecond)."""
        stamp = (time.time_ns() if time_ns is None else time_ns) // 10**6 * 10**6
        values, quality = self.model.sample(t_s)
        messages = self.messages(stamp, values, quality)
        for topic, payload, qos, _sensors in messages:
            self._in_flight.append(self.client.publish(topic, payload, qos=qos))
        connected = self.client.is_connected()
        if connected != self._connected:  # once per change, not once per round
            if connected:
                log.info("broker %s:%s reachable again", self.host, self.port)
            else:
                log.warning("broker %s:%s unreachable: reconnecting, QoS 1 messages are queued", self.host, self.port)
            self._connected = connected
        self._in_flight = [info for info in self._in_flight if _unacknowledged(info)]
        return Served(stamp, values, quality, len(messages))

    async def run(self, interval: float, duration: float | None = None) -> int:
        """Publish every `interval` seconds (simulated time = elapsed wall time) until `duration`; returns rounds."""
        started = time.monotonic()
        rounds = 0
        while duration is None or time.monotonic() - started < duration:
            self.publish_sample(time.monotonic() - started)
            rounds += 1
            next_round = started + rounds * interval
            await asyncio.sleep(max(0.0, next_round - time.monotonic()))
        return rounds


def _unacknowledged(info: paho.MQTTMessageInfo) -> bool:
    """Still waiting for the broker; a message paho could not send now (broker down) is its own to resend."""
    try:
        return not info.is_published()
    except (RuntimeError, ValueError):
        return False


def _sensors_per_topic(device: MqttDevice) -> list[tuple[MqttTopic, list[str]]]:
    """Fixed-sensor topics carry their sensor; the device's other sensors go on its first open topic."""
    fixed = {t.sensor for t in device.topics if t.sensor}
    open_topics = [t for t in device.topics if not t.sensor]
    plan = [(t, [t.sensor]) for t in device.topics if t.sensor]
    if open_topics:
        plan.append((open_topics[0], [s for s in device.sensors if s not in fixed]))
    return plan


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
