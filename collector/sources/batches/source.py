"""A core worker's source: the edge's reading batches (hazwatch/batchwire.py), one exact topic per owned unit.

It is an MqttSource (one connection, persistent session, QoS 1, reconnect with backoff, rejections counted)
whose routes are the topics of the partition units the worker owns, each with a decoder that resolves the
unit's sensor ids to this worker's slots. A core worker of partition K/N subscribes only to its own units:
the broker, not the worker, does the partitioning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collector.sources.mqtt.payloads import Decoded, Rejection
from collector.sources.mqtt.routing import Route
from collector.sources.mqtt.source import MqttProtocol, MqttSource, broker_address
from collector.sources.mqtt.topics import TopicBinding, TopicMatch
from hazwatch.batch import SLOT_DTYPE, ReadingBatch
from hazwatch.batchwire import BatchWireError, decode, unit_topic
from hazwatch.config.partition import unit_keys
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig, MqttDevice, MqttTopic
from hazwatch.quality import Quality

_QUALITIES = np.array(sorted(int(q) for q in Quality), dtype=np.uint8)


@dataclass(frozen=True)
class BatchDecoder:
    site: str
    slots: dict[str, int]
    """Sensor id -> slot for the sensors of this unit."""

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        try:
            wire = decode(payload)
        except BatchWireError as error:
            return Decoded(ReadingBatch.empty(), [Rejection(error.reason, error.detail)])
        if wire.site != self.site:
            return Decoded(ReadingBatch.empty(), [Rejection("wrong_site", f"batch of {wire.site!r} on this topic")])
        lookup = np.array([self.slots.get(sensor, -1) for sensor in wire.sensors], dtype=SLOT_DTYPE)
        slot = lookup[wire.index] if len(wire.index) else np.empty(0, dtype=SLOT_DTYPE)
        keep = (slot >= 0) & np.isin(wire.quality, _QUALITIES)
        rejections = []
        if not keep.all():
            unknown = sorted({wire.sensors[i] for i in np.unique(wire.index[slot < 0]).tolist()})
            if unknown:
                rejections.append(Rejection("unknown_sensor", f"not sensors of this unit: {', '.join(unknown[:5])}"))
            if not np.isin(wire.quality, _QUALITIES).all():
                rejections.append(Rejection("bad_quality", "quality codes outside hazwatch/quality.py"))
        batch = ReadingBatch(slot[keep], wire.time_ns[keep], wire.value[keep], wire.quality[keep])
        return Decoded(batch, rejections)


def batch_sources(
    config: HazwatchConfig,
    registry: SensorRegistry,
    owned: set[tuple[str, str]] | None = None,
    broker_url: str | None = None,
    protocol: MqttProtocol | None = None,
) -> list[MqttSource]:
    """The source of a core worker: the batch topics of every unit it owns (all units without a partition)."""
    settings = config.mqtt
    members: dict[tuple[str, str], dict[str, int]] = {}
    for (site, sensor), key in unit_keys(config).items():
        if owned is None or (site, sensor) in owned:
            slot = registry.slot(site, sensor)
            if slot is not None:
                members.setdefault((site, key), {})[sensor] = slot
    routes = []
    for (site, key), slots in sorted(members.items()):
        topic = MqttTopic(pattern=unit_topic(settings.batch_topic_prefix, key), payload="gateway")
        device = MqttDevice(id="edge-batches", protocol="mqtt", sensors=sorted(slots), topics=[topic], qos=1)
        binding = TopicBinding.compile(site, device, topic, slots)
        routes.append(Route(binding, BatchDecoder(site, slots)))
    if not routes:
        return []
    address = broker_address(settings, broker_url)
    return [MqttSource("batches", address, settings.client_id, routes, protocol or settings.protocol)]
