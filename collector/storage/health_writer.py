"""Samples hazwatch's own counters (collector/telemetry/metrics.py) into the `hazwatch_health` measurement.

The system-health dashboard and Grafana's dead-man alert read this measurement, so a silent
collector shows up as a missing heartbeat rather than as a quiet, healthy-looking wall. The
writer takes an injected callable that accepts line-protocol bytes, so it rides on whatever
InfluxDB sink is configured (and inherits its queue and spool) without depending on it.

Schema (documented in docs/dashboards.md):

    hazwatch_health,instance=<host> heartbeat=1i,ingest_rate=...,readings_ingested=...,...
    hazwatch_health,instance=<host>,site=<site>,device=<device> online=1i
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client.metrics import MetricWrapperBase

from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import ReadingBatch
from hazwatch.storage.lineprotocol import FieldValue, encode_point
from hazwatch.storage.schema import HEALTH_INSTANCE_TAG, SYSTEM_HEALTH

COUNTER_FIELDS: dict[str, MetricWrapperBase] = {
    "readings_ingested": metrics.READINGS_INGESTED,
    "payloads_rejected": metrics.PAYLOADS_REJECTED,
    "influx_points_written": metrics.INFLUX_POINTS_WRITTEN,
    "influx_write_errors": metrics.INFLUX_WRITE_ERRORS,
    "alarm_events": metrics.ALARM_EVENTS,
}
"""Cumulative counters (summed over their labels), by their field names in the schema."""

GAUGE_FIELDS: dict[str, MetricWrapperBase] = {
    "influx_queue_points": metrics.INFLUX_QUEUE_POINTS,
    "influx_spool_points": metrics.INFLUX_SPOOL_POINTS,
    "outbox_pending": metrics.OUTBOX_PENDING,
    "detector_lag_s": metrics.DETECTOR_LAG_SECONDS,
}

log = logging.getLogger("hazwatch.health")


def _sum_samples(metric: MetricWrapperBase, suffix: str = "") -> float:
    """A labelled metric's value summed over every label set (0 when nothing was counted yet)."""
    total = 0.0
    for family in metric.collect():
        for sample in family.samples:
            if sample.name == family.name + suffix:
                total += sample.value
    return total


def _device_states() -> list[tuple[str, str, float]]:
    return [
        (sample.labels["site"], sample.labels["device"], sample.value)
        for family in metrics.DEVICE_ONLINE.collect()
        for sample in family.samples
    ]


@dataclass
class HealthWriter:
    """A ReadingSink that ignores readings and writes one `hazwatch_health` sample per interval."""

    write: Callable[[bytes], object]
    interval: float = 5.0
    instance: str = field(default_factory=socket.gethostname)
    clock: Callable[[], int] = time.time_ns
    _previous: dict[str, float] = field(default_factory=dict)
    _previous_ns: int | None = None
    _warn: RateLimitedLog = field(default_factory=lambda: RateLimitedLog(log))

    def sample(self) -> bytes:
        """Line protocol for the current counters; rates are per second since the previous sample."""
        now_ns = self.clock()
        fields: dict[str, FieldValue] = {"heartbeat": 1}
        elapsed = None if self._previous_ns is None else (now_ns - self._previous_ns) / 1e9
        current = {name: _sum_samples(metric, "_total") for name, metric in COUNTER_FIELDS.items()}
        current["detector_sum"] = _sum_samples(metrics.DETECTOR_SECONDS, "_sum")
        current["detector_count"] = _sum_samples(metrics.DETECTOR_SECONDS, "_count")
        for name in COUNTER_FIELDS:
            fields[name] = current[name]
            if elapsed:
                fields[f"{name}_rate"] = max(current[name] - self._previous[name], 0.0) / elapsed
        for name, metric in GAUGE_FIELDS.items():
            fields[name] = _sum_samples(metric)
        batches = current["detector_count"] - self._previous.get("detector_count", 0.0)
        if batches > 0:
            fields["detector_mean_s"] = (current["detector_sum"] - self._previous.get("detector_sum", 0.0)) / batches
        instance = [(HEALTH_INSTANCE_TAG, self.instance)]
        lines = [encode_point(SYSTEM_HEALTH, instance, fields, now_ns)]
        for site, device, online in _device_states():
            device_tags = [*instance, ("site", site), ("device", device)]
            lines.append(encode_point(SYSTEM_HEALTH, device_tags, {"online": int(online)}, now_ns))
        self._previous, self._previous_ns = current, now_ns
        return "".join(lines).encode()

    def write_sample(self) -> None:
        """Write one sample; a failing writer is logged (rate-limited) and never stops the collector."""
        payload = self.sample()
        try:
            self.write(payload)
        except Exception as exc:  # the writer is someone else's sink: any failure must not kill us
            self._warn.warning("health-write", "hazwatch_health write failed: %r", exc)

    def submit(self, batch: ReadingBatch) -> None:
        """Readings are counted by the sources already; the writer only samples those counters."""

    async def run(self) -> None:
        while True:
            self.write_sample()
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        self.write_sample()
