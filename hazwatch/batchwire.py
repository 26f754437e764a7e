"""The reading-batch wire format between an edge `hazwatch run --role edge` and core detector workers.

One MQTT message carries one batch of one partition unit (hazwatch/config/partition.py) as columns, so a
core worker decodes a message with four `numpy.frombuffer` calls and no per-reading Python object. Sensors
are named by id, not by slot, so an edge and a core need not load byte-identical configs. Readings carry the
time the edge gave them (the device's, or the edge's receipt time when the device sends none), so every
core worker, and a restarted one, sees the same times and raises events with the same ids.

Version 1, little-endian (docs/scaling.md):

    magic "HZRB" | u8 version = 1 | u8 flags = 0 | u16 site length | site (UTF-8)
    u16 sensor count | per sensor: u8 length, id (UTF-8) | u32 rows | zero padding to a multiple of 8
    i64[rows] time (Unix ns) | f64[rows] value | u16[rows] sensor index | u8[rows] quality

Topic: `<mqtt.batch_topic_prefix>/v1/<site>` for a unit that is a whole site, `.../v1/<site>/<unit>` else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"HZRB"
VERSION = 1
_HEAD = struct.Struct("<4sBBH")
MAX_SENSORS = 0xFFFF


class BatchWireError(ValueError):
    """A message that is not a batch of a version this build reads: counted and dropped by the source."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WireBatch:
    site: str
    sensors: list[str]
    index: np.ndarray
    """Row -> position in `sensors`."""
    time_ns: np.ndarray
    value: np.ndarray
    quality: np.ndarray


def unit_topic(prefix: str, unit_key: str) -> str:
    """The topic of a unit's batches: the unit key is `site` or `site/unit` (partition.unit_keys)."""
    return f"{prefix.rstrip('/')}/v{VERSION}/{unit_key}"


def encode(site: str, sensors: list[str], index: np.ndarray, time_ns: np.ndarray, value: np.ndarray,
           quality: np.ndarray) -> bytes:
    if len(sensors) > MAX_SENSORS:
        raise ValueError(f"{len(sensors)} sensors in one batch message; at most {MAX_SENSORS}")
    site_bytes = site.encode()
    parts = [_HEAD.pack(MAGIC, VERSION, 0, len(site_bytes)), site_bytes, struct.pack("<H", len(sensors))]
    for sensor in sensors:
        raw = sensor.encode()
        parts += [struct.pack("<B", len(raw)), raw]
    parts.append(struct.pack("<I", len(index)))
    head = b"".join(parts)
    head += b"\0" * (-len(head) % 8)
    return b"".join(
        (
            head,
            np.ascontiguousarray(time_ns, dtype="<i8").tobytes(),
            np.ascontiguousarray(value, dtype="<f8").tobytes(),
            np.ascontiguousarray(index, dtype="<u2").tobytes(),
            np.ascontiguousarray(quality, dtype="u1").tobytes(),
        )
    )


def decode(payload: bytes) -> WireBatch:
    view = memoryview(payload)
    try:
        magic, version, _flags, site_len = _HEAD.unpack_from(view, 0)
        if magic != MAGIC:
            raise BatchWireError("not_a_batch", f"starts with {bytes(magic)!r}, not {MAGIC!r}")
        if version != VERSION:
            raise BatchWireError("batch_version", f"version {version}; this build reads version {VERSION}")
        at = _HEAD.size
        site = bytes(view[at : at + site_len]).decode()
        at += site_len
        (count,) = struct.unpack_from("<H", view, at)
        at += 2
        sensors = []
        for _ in range(count):
            (length,) = struct.unpack_from("<B", view, at)
            sensors.append(bytes(view[at + 1 : at + 1 + length]).decode())
            at += 1 + length
        (rows,) = struct.unpack_from("<I", view, at)
        at += 4
        at += -at % 8
        if len(payload) != at + rows * 19:
            raise BatchWireError("truncated_batch", f"{len(payload)} bytes for {rows} rows from byte {at}")
        time_ns = np.frombuffer(payload, "<i8", rows, at).astype(np.int64)
        value = np.frombuffer(payload, "<f8", rows, at + 8 * rows).astype(np.float64)
        index = np.frombuffer(payload, "<u2", rows, at + 16 * rows)
        quality = np.frombuffer(payload, "u1", rows, at + 18 * rows).copy()
    except (struct.error, UnicodeDecodeError) as error:
        raise BatchWireError("truncated_batch", str(error)) from None
    if rows and int(index.max()) >= len(sensors):
        raise BatchWireError("bad_index", f"sensor index {int(index.max())} of {len(sensors)} sensors")
    return WireBatch(site, sensors, index, time_ns, value, quality)
