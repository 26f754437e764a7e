"""Decode the ThingsBoard gateway telemetry form, keeping every sample of every device.

ThingsBoard IoT Gateway (and the edge boxes that copy its API) publish
`{"DEVICE": [{"ts": 1714550400250, "values": {"temperature": 70.07}}, {"ts": ..., "values": {...}}]}`:
several samples per device in one message, typically a back-log flushed after a network cut. Every
sample is a reading; losing all but the first would hide exactly the minutes a plant was blind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from collector.sources.mqtt.columnar import flat_rows
from collector.sources.mqtt.payloads import (
    MAX_PAYLOAD_BYTES,
    Decoded,
    PayloadRejected,
    Rejection,
    complete_rows,
    load_json,
    rejected,
)
from collector.sources.mqtt.topics import TopicMatch


@dataclass(frozen=True)
class ThingsBoardDecoder:
    """`id_from: key`: each key of `values` is a sensor id; `device`: the device name is, its value at `value_key`.

    A single device's telemetry (`{"ts": ..., "values": {...}}` or a list of those, ThingsBoard's
    `v1/devices/me/telemetry` form) is read too, with `id_from: key`.
    """

    slots: dict[str, int]
    id_from: Literal["key", "device"]
    value_key: str
    max_bytes: int = MAX_PAYLOAD_BYTES
    binary: frozenset[int] = frozenset()
    """Slots of binary sensors: the only ones a JSON boolean is a reading of."""
    strings: bool = False
    """The topic's `value_strings`: decimal number text is read as a number."""

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        try:
            document = load_json(payload, self.max_bytes)
        except PayloadRejected as error:
            return rejected(error.reason, error.detail)
        if isinstance(document, list) or (isinstance(document, Mapping) and "values" in document):
            devices: Any = {None: document if isinstance(document, list) else [document]}
        elif isinstance(document, Mapping):
            devices = document
        else:
            return rejected("no_items", f"JSON {type(document).__name__}, expected an object of devices")
        ids: list = []
        values: list = []
        times: list = []
        rejections: list[Rejection] = []
        for device, samples in devices.items():
            if not isinstance(samples, list):
                samples = [samples]
            for sample in samples:
                if not isinstance(sample, Mapping) or not isinstance(sample.get("values"), Mapping):
                    rejections.append(Rejection("no_items", f"{str(device)[:40]}: a sample without `values`"))
                    continue
                self._add_sample(device, sample, ids, values, times, rejections)
        rows = flat_rows(ids, values, times, self.slots, received_ns)
        return complete_rows(
            rows, ids, values, times, None, self.slots, received_ns, rejections, self.binary, self.strings
        )

    def _add_sample(
        self, device: str | None, sample: Mapping, ids: list, values: list, times: list, rejections: list[Rejection]
    ) -> None:
        ts = sample.get("ts")
        readings: Mapping = sample["values"]
        if self.id_from == "key":
            ids.extend(readings.keys())
            values.extend(readings.values())
            times.extend([ts] * len(readings))
            return
        if device is None:
            rejections.append(Rejection("missing_id", "single-device telemetry names no device (use id_from: key)"))
            return
        ids.append(device)
        values.append(readings.get(self.value_key))
        times.append(ts)
