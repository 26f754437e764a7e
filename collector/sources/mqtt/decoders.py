"""The payload decoder a config topic asks for, one per `payload:` form."""

from __future__ import annotations

from datetime import UTC, tzinfo

from collector.sources.mqtt.influx_lines import InfluxLineDecoder
from collector.sources.mqtt.payloads import (
    MAX_PAYLOAD_BYTES,
    DotPath,
    Fields,
    GatewayDecoder,
    JsonDecoder,
    NumberDecoder,
    PayloadDecoder,
)
from collector.sources.mqtt.thingsboard import ThingsBoardDecoder
from hazwatch.config.schema import MqttTopic


def decoder_for(
    topic: MqttTopic,
    slots: dict[str, int],
    naive_tz: tzinfo = UTC,
    max_bytes: int = MAX_PAYLOAD_BYTES,
    binary: frozenset[int] = frozenset(),
) -> PayloadDecoder:
    """Naive timestamps are read in the site's time zone; `binary` holds the slots of binary sensors (every
    other sensor is analog: a boolean there is refused, never stored as 1.0)."""
    if topic.payload == "number":
        return NumberDecoder(max_bytes)
    if topic.payload == "influx":
        return InfluxLineDecoder(slots, topic.id_tag, topic.value_path, topic.quality_path, max_bytes, binary)
    if topic.payload == "thingsboard":
        return ThingsBoardDecoder(slots, topic.id_from, topic.value_path, max_bytes, binary, topic.value_strings)
    fields = Fields.of(topic, naive_tz)
    if topic.payload == "json":
        return JsonDecoder(fields, max_bytes, binary)
    return GatewayDecoder(
        fields, DotPath.parse(topic.items_path), DotPath.parse(topic.id_path), slots, max_bytes, binary
    )
