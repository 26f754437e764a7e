"""Line protocol encoding points/s: hazwatch's batch encoder against influxdb-client's `Point`.

Both encode the same readings of the same registry into the `readings` measurement (tags site,
area, sensor, kind; fields value, quality; ns timestamps), single-threaded in this process.
"""

from __future__ import annotations

import time

from influxdb_client import Point, WritePrecision

from benchmarks.fleet import build_fleet
from hazwatch.storage.lineprotocol import ReadingEncoder
from hazwatch.storage.schema import READINGS


def _rate(encode, points: int, seconds: float) -> float:
    done = 0
    started = time.perf_counter()
    while True:
        encode()
        done += points
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def measure(points: int, seconds: float) -> dict:
    fleet = build_fleet(points, cycles=1)
    batch = fleet.batch(0)
    encoder = ReadingEncoder(fleet.registry)
    sensors = fleet.registry.sensors
    slots, values, quality, times = (
        batch.slot.tolist(),
        batch.value.tolist(),
        batch.quality.tolist(),
        batch.time_ns.tolist(),
    )

    def with_points() -> str:
        lines = []
        for slot, value, q, t in zip(slots, values, quality, times, strict=True):
            info = sensors[slot]
            point = (
                Point(READINGS)
                .tag("site", info.site)
                .tag("area", info.area)
                .tag("sensor", info.sensor)
                .tag("kind", info.kind.value)
                .field("value", value)
                .field("quality", q)
                .time(t, WritePrecision.NS)
            )
            lines.append(point.to_line_protocol())
        return "\n".join(lines)

    ours = encoder.encode(batch).decode().splitlines()
    theirs = with_points().splitlines()
    hazwatch = _rate(lambda: encoder.encode(batch), len(batch), seconds)
    client = _rate(with_points, len(batch), seconds)
    return {
        "points": len(batch),
        "hazwatch_points_per_s": hazwatch,
        "influxdb_client_points_per_s": client,
        "speedup": hazwatch / client,
        "same_lines": _same_points(ours, theirs),
    }


def _same_points(ours: list[str], theirs: list[str]) -> bool:
    """Both encoders describe the same points (Point sorts tags and fields; hazwatch keeps config order)."""

    def field(text: str) -> tuple[str, str]:
        name, value = text.split("=")
        return name, value if value.endswith("i") else repr(float(value))  # Point writes 1.0 as 1: both floats

    def key(line: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], str]:
        series, fields, stamp = line.split(" ")
        return tuple(sorted(series.split(","))), tuple(sorted(map(field, fields.split(",")))), stamp

    return sorted(map(key, ours)) == sorted(map(key, theirs))
