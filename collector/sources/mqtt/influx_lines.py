"""Decode InfluxDB line protocol published over MQTT (Telegraf's `influx` data format) into a ReadingBatch.

Telegraf's Modbus, OPC UA and SNMP inputs already sit in many plants; with its MQTT output they publish
lines like `modbus,host=gw1 R101-TT-A=70.07,R101-PT=339i 1714550400250000000`. Each line is parsed by
`line-protocol-parser` (a C extension, the escaping rules of the spec included); the readings are laid
out as columns and checked with numpy (collector/sources/mqtt/columnar.py), so only the odd row goes
through the per-reading rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from line_protocol_parser import LineFormatError, parse_line

from collector.sources.mqtt.columnar import flat_rows
from collector.sources.mqtt.payloads import (
    FAST_QUALITIES,
    MAX_PAYLOAD_BYTES,
    Decoded,
    Rejection,
    complete_rows,
    rejected,
)
from collector.sources.mqtt.topics import TopicMatch


@dataclass(frozen=True)
class InfluxLineDecoder:
    """One message of line-protocol lines; each line's sensors are its field keys, or the value of `id_tag`.

    With `id_tag` unset every field is one sensor (the field key is the sensor id); with it set, the
    tag names the sensor and field `value_field` holds the value. A tag or field `quality_key` holds
    the quality of the line's readings. Times are epoch integers (s/ms/µs/ns told apart by magnitude,
    so Telegraf's default ns and any `precision` read alike); a line without one is stamped on receipt.
    """

    slots: dict[str, int]
    id_tag: str | None
    value_field: str
    quality_key: str | None
    max_bytes: int = MAX_PAYLOAD_BYTES
    binary: frozenset[int] = frozenset()
    """Slots of binary sensors: the only ones a boolean field (`t`, `true`) is a reading of."""

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        if len(payload) > self.max_bytes:
            return rejected("too_large", f"{len(payload)} bytes")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return rejected("not_line_protocol", f"payload {payload[:40]!r} is not UTF-8 text")
        ids: list = []
        values: list = []
        times: list = []
        qualities: list = []
        rejections: list[Rejection] = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                point = parse_line(line)
            except LineFormatError as error:
                rejections.append(Rejection("not_line_protocol", f"{line[:40]!r}: {error}"))
                continue
            self._add_line(point, ids, values, times, qualities, rejections)
        rows = flat_rows(ids, values, times, self.slots, received_ns, qualities, FAST_QUALITIES)
        return complete_rows(rows, ids, values, times, qualities, self.slots, received_ns, rejections, self.binary)

    def _add_line(
        self, point: dict, ids: list, values: list, times: list, qualities: list, rejections: list[Rejection]
    ) -> None:
        fields: dict = point["fields"]
        tags: dict = point["tags"]
        key = self.quality_key
        quality = fields.get(key, tags.get(key)) if key else None
        if self.id_tag is None:
            for field, value in fields.items():
                if field != key:
                    ids.append(field)
                    values.append(value)
                    times.append(point["time"])
                    qualities.append(quality)
            return
        sensor = tags.get(self.id_tag)
        if sensor is None:
            rejections.append(Rejection("missing_id", f"{point['measurement'][:40]!r} has no tag {self.id_tag!r}"))
            return
        ids.append(sensor)
        values.append(fields.get(self.value_field))
        times.append(point["time"])
        qualities.append(quality)
