"""InfluxDB line protocol: the one encoder every writer of hazwatch uses (readings, alarms, KPIs, health, exports).

The tag part of a reading's line depends only on its sensor, so it is escaped once per slot
at start-up; encoding a batch is then a numpy gather of those prefixes plus one string
format per row. That keeps encoding ~10x faster than building influxdb-client `Point`s.
Every line ends with a newline, so encoded chunks can be concatenated and counted with
`bytes.count(b"\\n")`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorInfo, SensorRegistry
from hazwatch.events import AlarmEvent
from hazwatch.storage.schema import ALARMS, READINGS

_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": " ", "\r": " ", "\t": " "})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": " ", "\r": " ", "\t": " "})
_STRING_ESCAPES = str.maketrans({'"': r"\"", "\\": r"\\", "\n": " ", "\r": " "})

_QUALITY_FIELD = np.array([f"quality={code}i " for code in range(256)], dtype=object)
"""Indexed by quality code: the quality field and the space before the timestamp."""


def escape_tag(text: str) -> str:
    """Escape a tag key or value; line protocol has no newline in tags, so those become spaces."""
    escaped = text.translate(_TAG_ESCAPES)
    # A trailing backslash would escape the separator that follows it.
    return escaped + " " if escaped.endswith("\\") else escaped


def escape_string_field(text: str) -> str:
    return '"' + text.translate(_STRING_ESCAPES) + '"'


def tag_set(measurement: str, tags: Iterable[tuple[str, str]]) -> str:
    """`measurement,key=value,...`; empty values are left out because line protocol refuses them."""
    parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
    parts += [f"{escape_tag(key)}={escape_tag(value)}" for key, value in tags if value != ""]
    return ",".join(parts)


FieldValue = bool | int | float | str


def field_text(value: FieldValue) -> str:
    """A field value as line protocol types it: booleans, `i`-suffixed integers, floats, quoted strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    return escape_string_field(value)


def encode_point(
    measurement: str, tags: Iterable[tuple[str, str]], fields: Mapping[str, FieldValue], time_ns: int
) -> str:
    """One line for a single point (health samples, KPIs): the rare writes that are not whole batches."""
    field_set = ",".join(f"{escape_tag(key)}={field_text(value)}" for key, value in fields.items())
    return f"{tag_set(measurement, tags)} {field_set} {int(time_ns)}\n"


def sensor_tags(info: SensorInfo) -> list[tuple[str, str]]:
    return [("site", info.site), ("area", info.area), ("sensor", info.sensor), ("kind", info.kind.value)]


def _stamps(time_ns: np.ndarray) -> list[str]:
    """Each row's timestamp and newline as text. A gateway message or a poll cycle stamps many readings alike, so
    each distinct time is formatted once (a 19-digit integer costs as much to format as the rest of the line)."""
    distinct, row_of = np.unique(time_ns, return_inverse=True)
    if len(distinct) * 4 > len(time_ns):
        return [f"{t}\n" for t in time_ns.tolist()]
    text = [f"{t}\n" for t in distinct.tolist()]
    return [text[i] for i in row_of.tolist()]


class ReadingEncoder:
    """Encodes ReadingBatches for the `readings` measurement of one registry's sensors."""

    def __init__(self, registry: SensorRegistry, measurement: str = READINGS) -> None:
        self._prepare([tag_set(measurement, sensor_tags(info)) for info in registry])

    @classmethod
    def for_tags(
        cls, tags_per_slot: Iterable[Iterable[tuple[str, str]]], measurement: str = READINGS
    ) -> ReadingEncoder:
        """An encoder for series known by their tags alone (exported simulations have no registry)."""
        encoder = cls.__new__(cls)
        encoder._prepare([tag_set(measurement, tags) for tags in tags_per_slot])
        return encoder

    def _prepare(self, series: list[str]) -> None:
        self._with_value = np.array([s + " value=" for s in series], dtype=object)
        self._value_sep = np.array([s + " " for s in series], dtype=object)

    def encode(self, batch: ReadingBatch) -> bytes:
        """One line per reading: `value` and `quality`, or `quality` alone when the value is not finite.

        An offline or faulty reading is still written, so a gap shows as rows with a bad quality
        instead of missing rows that look like a quiet sensor.
        """
        n = len(batch)
        if n == 0:
            return b""
        slots = batch.slot
        values = batch.value
        quality = _QUALITY_FIELD[batch.quality].tolist()
        times = _stamps(batch.time_ns)
        finite = np.isfinite(values)
        if finite.all():
            lines = map("{}{!r},{}{}".format, self._with_value[slots].tolist(), values.tolist(), quality, times)
            return "".join(lines).encode()
        text = [""] * n
        good = np.flatnonzero(finite)
        bad = np.flatnonzero(~finite)
        for index, line in zip(
            good.tolist(),
            map(
                "{}{!r},{}{}".format,
                self._with_value[slots[good]].tolist(),
                values[good].tolist(),
                [quality[i] for i in good.tolist()],
                [times[i] for i in good.tolist()],
            ),
            strict=True,
        ):
            text[index] = line
        for index in bad.tolist():
            text[index] = f"{self._value_sep[slots[index]]}{quality[index]}{times[index]}"
        return "".join(text).encode()


class AlarmEncoder:
    """Encodes AlarmEvents for the `alarms` measurement; events are rare, so plain Python is fine here."""

    def __init__(self, registry: SensorRegistry, measurement: str = ALARMS) -> None:
        self._measurement = measurement
        self._sensor_tags = [sensor_tags(info) for info in registry.sensors]  # unit slots too: groups alarm

    def encode_one(self, event: AlarmEvent) -> str:
        tags = [
            *self._sensor_tags[event.slot],
            ("level", str(event.level)),
            ("level_name", event.level_name),
            ("state", event.state.value),
            ("rule", event.rule),
            ("category", event.category),
            ("transition", event.transition.value),
            ("priority", event.priority),
        ]
        fields = []
        if np.isfinite(event.value):
            fields.append(f"value={float(event.value)!r}")
        if np.isfinite(event.limit):
            fields.append(f"limit={float(event.limit)!r}")
        fields += [
            f"event_id={escape_string_field(event.event_id)}",
            f"message={escape_string_field(event.message)}",
        ]
        if event.resume is not None:
            fields.append(f"resume={escape_string_field(json.dumps(event.resume))}")
        return f"{tag_set(self._measurement, tags)} {','.join(fields)} {int(event.time_ns)}\n"

    def encode(self, events: Sequence[AlarmEvent]) -> bytes:
        return "".join(self.encode_one(event) for event in events).encode()
