"""SCHEMA FIXTURE: fills a real influxd with two hours of data for every sensor of the given configs.

Stands in for `hazwatch demo --duration N --influx-url URL` until the demo exists: switching is
replacing `fill_schema_fixture(url, configs)` in conftest.py by a short demo run (plus whatever
the demo does not produce, e.g. a faulted sensor or an alarm KPI row).

Readings and alarms are encoded by the InfluxDB sink's own encoders, the 5-minute statistics are
back-filled with the sink's own continuous-query statement, and `hazwatch_health` comes from the
real HealthWriter, so the data follows the schema exactly as hazwatch writes it. Only
`alarm_kpi` is written by hand (its writer does not exist yet).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import numpy as np

from collector.alarms.kpi_writer import AlarmKpiWriter
from collector.storage.health_writer import HealthWriter
from collector.storage.retention import create_database, policy_statements, statistics_select
from collector.telemetry import metrics
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, SensorInfo, SensorRegistry
from hazwatch.events import AlarmEvent, AlarmState, Transition
from hazwatch.quality import Quality
from hazwatch.storage.lineprotocol import AlarmEncoder, ReadingEncoder

NS = 1_000_000_000
SPAN_S = 2 * 3600
STEP_S = 30


@dataclass(frozen=True)
class FixtureFacts:
    """What the fixture put in, so tests can say what they expect back."""

    now_ns: int
    offline: list[str]
    fault: list[str]
    calibration: list[str]
    active_alarms: list[str]
    cleared_alarms: list[str]


def _nominal(sensor: SensorInfo) -> float:
    """A normal operating value: between the low limits and the high limits (or mid-range)."""
    low = max((lv.value for lv in sensor.limits.low), default=sensor.range_min)
    high = min((lv.value for lv in sensor.limits.high), default=sensor.range_max)
    return low + 0.5 * (high - low)


def _readings(registry: SensorRegistry, now_ns: int) -> tuple[ReadingBatch, dict[str, list[str]]]:
    times = now_ns - np.arange(SPAN_S // STEP_S, -1, -1, dtype=np.int64) * STEP_S * NS
    n_slots, n_times = len(registry), len(times)
    slot = np.repeat(np.arange(n_slots, dtype=np.int32), n_times)
    time_ns = np.tile(times, n_slots)
    nominal = np.array([_nominal(s) for s in registry])
    spread = (registry.range_max - registry.range_min) * 0.01
    phase = np.linspace(0, 8 * np.pi, n_times)
    value = (nominal[:, None] + spread[:, None] * np.sin(phase)[None, :]).ravel()
    quality = np.zeros(len(slot), dtype=np.uint8)
    flagged: dict[str, list[str]] = {"offline": [], "fault": [], "calibration": []}
    last_rows = time_ns >= now_ns - 300 * NS
    for site in dict.fromkeys(s.site for s in registry):
        analog = [s for s in registry if s.site == site and s.limits.high]
        for name, code, sensor in zip(
            ("offline", "fault", "calibration"),
            (Quality.OFFLINE, Quality.FAULT, Quality.CALIBRATION),
            analog[-3:],
            strict=True,
        ):
            rows = (slot == sensor.slot) & last_rows
            quality[rows] = code
            if code != Quality.CALIBRATION:
                value[rows] = np.nan
            flagged[name].append(sensor.key)
    return ReadingBatch.from_columns(slot, time_ns, value, quality), flagged


def _alarm(sensor: SensorInfo, n: int, transition: Transition, state: AlarmState, level: int, t_ns: int) -> AlarmEvent:
    limit = sensor.limits.high[0]
    return AlarmEvent(
        event_id=f"fixture-{sensor.site}-{sensor.sensor}-{n}",
        slot=sensor.slot,
        rule="threshold",
        category="process",
        transition=transition,
        state=state,
        level=level,
        level_name=limit.name if level else "normal",
        priority=limit.priority,
        value=limit.value * (1.1 if level else 0.5),
        limit=limit.value,
        time_ns=t_ns,
        message=f"{sensor.name} {transition.value}",
    )


def _alarms(registry: SensorRegistry, now_ns: int) -> tuple[list[AlarmEvent], list[str], list[str]]:
    """Per site: one alarm still unacknowledged, one acknowledged, one raised and cleared."""
    events: list[AlarmEvent] = []
    active: list[str] = []
    cleared: list[str] = []
    for site in dict.fromkeys(s.site for s in registry):
        limited = [s for s in registry if s.site == site and s.limits.high and s.critical][:3]
        unacked, acked, gone = limited
        raised = now_ns - 3600 * NS
        events += [
            _alarm(unacked, 1, Transition.RAISE, AlarmState.UNACKNOWLEDGED, 1, raised),
            _alarm(acked, 1, Transition.RAISE, AlarmState.UNACKNOWLEDGED, 1, raised),
            _alarm(acked, 2, Transition.ACK, AlarmState.ACKNOWLEDGED, 1, raised + 60 * NS),
            _alarm(gone, 1, Transition.RAISE, AlarmState.UNACKNOWLEDGED, 1, raised),
            _alarm(gone, 2, Transition.CLEAR, AlarmState.NORMAL, 0, raised + 600 * NS),
        ]
        active += [unacked.key, acked.key]
        cleared.append(gone.key)
    return events, active, cleared


def _kpi_lines(registry: SensorRegistry, events: list[AlarmEvent], now_ns: int) -> str:
    """What the live KPI writer stores, sampled every minute over the fixture's span."""
    samples = iter(range(now_ns - SPAN_S * NS, now_ns + 1, 60 * NS))
    lines: list[bytes] = []
    writer = AlarmKpiWriter(
        registry, lines.append, standing=lambda: [e.slot for e in events], clock=lambda: next(samples)
    )
    writer.submit_events(events)
    for _ in range(0, SPAN_S + 1, 60):
        lines.append(writer.sample())
    return b"".join(lines).decode()


def _health_lines(configs: list[HazwatchConfig], now_ns: int) -> str:
    devices = [(site.id, d.id) for c in configs for site in c.sites for d in site.devices]
    for i, (site, device) in enumerate(devices):
        metrics.DEVICE_ONLINE.labels(site, device).set(0 if i == 0 else 1)
    clock = iter(range(now_ns - SPAN_S * NS, now_ns + 1, 10 * NS))
    writer = HealthWriter(write=lambda _: None, instance="fixture-host", clock=lambda: next(clock))
    try:
        chunks = []
        for step in range(SPAN_S // 10 + 1):
            metrics.READINGS_INGESTED.labels("fixture").inc(50 + step % 5)
            metrics.DETECTOR_SECONDS.observe(0.001)
            chunks.append(writer.sample().decode())
        return "".join(chunks)
    finally:
        for site, device in devices:
            metrics.DEVICE_ONLINE.remove(site, device)


def write_heartbeat(url: str, configs: list[HazwatchConfig]) -> None:
    """One health sample stamped now, as a running hazwatch writes every 10 s: the fixture's own heartbeats
    fall out of a dashboard's last-minute panels once the session is more than a minute old."""
    writer = HealthWriter(write=lambda _: None, instance="fixture-host", clock=time.time_ns)
    database = configs[0].influxdb.database
    response = httpx.post(f"{url}/write", params={"db": database, "precision": "ns"}, content=writer.sample())
    assert response.status_code == 204, response.text


def _query(client: httpx.Client, url: str, statement: str, database: str) -> None:
    response = client.post(f"{url}/query", params={"q": statement, "db": database})
    response.raise_for_status()
    result = response.json()["results"][0]
    assert "error" not in result, f"{statement}: {result['error']}"


def fill_schema_fixture(url: str, configs: list[HazwatchConfig]) -> FixtureFacts:
    now_ns = time.time_ns()
    settings = configs[0].influxdb
    db = settings.database
    facts: dict[str, list[str]] = {"offline": [], "fault": [], "calibration": []}
    active: list[str] = []
    cleared: list[str] = []
    with httpx.Client(timeout=60) as client:
        _query(client, url, create_database(settings), db)
        for statement in policy_statements(settings, existing_policies={"autogen"}):
            _query(client, url, statement, db)
        body = [_health_lines(configs, now_ns)]
        for config in configs:
            registry = SensorRegistry.from_config(config)
            batch, flagged = _readings(registry, now_ns)
            events, site_active, site_cleared = _alarms(registry, now_ns)
            body += [ReadingEncoder(registry).encode(batch).decode(), AlarmEncoder(registry).encode(events).decode()]
            body.append(_kpi_lines(registry, events, now_ns))
            for key, values in flagged.items():
                facts[key] += values
            active += site_active
            cleared += site_cleared
        response = client.post(f"{url}/write", params={"db": db, "precision": "ns"}, content="".join(body).encode())
        assert response.status_code == 204, response.text
        backfill = statistics_select(settings).replace(" GROUP BY", f" AND time >= {now_ns - SPAN_S * NS} GROUP BY")
        _query(client, url, backfill, db)
    return FixtureFacts(now_ns, facts["offline"], facts["fault"], facts["calibration"], active, cleared)
