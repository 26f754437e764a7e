"""The InfluxDB schema hazwatch writes and reads: every measurement, tag and field name, in one place.

Readings and alarms are encoded by hazwatch/storage/lineprotocol.py; 5-minute statistics come from a
continuous query into their own retention policy (collector/storage/retention.py); `alarm_kpi` from the
alarm KPI writer (collector/storage/kpi_influx.py); `hazwatch_health` from
collector/storage/health_writer.py. Dashboards, the status view and reports query nothing else:
tests/dashboards parses every panel query against this table.
"""

from __future__ import annotations

from dataclasses import dataclass

DATABASE = "hazwatch"
READINGS = "readings"
ALARMS = "alarms"
READINGS_5M = "readings_5m"
ALARM_KPI = "alarm_kpi"
SYSTEM_HEALTH = "hazwatch_health"

POINT_TAGS = ("site", "area", "sensor", "kind")
"""Tags of every per-sensor series (readings, alarms, 5-minute statistics)."""
READING_FIELDS = ("value", "quality")
ALARM_TAGS = (*POINT_TAGS, "level", "level_name", "state", "rule", "category", "transition", "priority")
ALARM_FIELDS = ("value", "limit", "event_id", "message", "resume")
"""`resume`: the alarm's lifecycle state after the event, JSON (`AlarmEvent.resume`), for a worker taking it over."""
STATS_FIELDS = ("max", "min", "mean")

KPI_TAGS = ("site", "priority", "bad_actor")
KPI_FIELDS = (
    "alarms",
    "alarms_10min",
    "per_10min_mean",
    "per_10min_max",
    "flood",
    "flood_periods",
    "flood_percent",
    "chattering",
    "stale",
    "standing",
    "hours",
    "percent",
    "activations",
    "rank",
)

HEALTH_INSTANCE_TAG = "instance"
HEALTH_DEVICE_TAGS = ("site", "device")
HEALTH_COUNTERS = (
    "readings_ingested",
    "payloads_rejected",
    "influx_points_written",
    "influx_write_errors",
    "alarm_events",
)
"""Cumulative counters of the instance series; each also yields a `<name>_rate` per second."""
HEALTH_GAUGES = ("influx_queue_points", "influx_spool_points", "outbox_pending", "detector_lag_s")
HEALTH_FIELDS: frozenset[str] = frozenset(
    {"heartbeat", "detector_mean_s", *HEALTH_COUNTERS, *(f"{name}_rate" for name in HEALTH_COUNTERS), *HEALTH_GAUGES}
)
"""Fields of the instance series (tag `instance`)."""
HEALTH_DEVICE_FIELDS: frozenset[str] = frozenset({"online"})
"""Fields of the per-device series (tags instance, site, device)."""


@dataclass(frozen=True)
class Measurement:
    name: str
    tags: frozenset[str]
    fields: frozenset[str]


MEASUREMENTS: dict[str, Measurement] = {
    m.name: m
    for m in (
        Measurement(READINGS, frozenset(POINT_TAGS), frozenset(READING_FIELDS)),
        Measurement(ALARMS, frozenset(ALARM_TAGS), frozenset(ALARM_FIELDS)),
        Measurement(READINGS_5M, frozenset(POINT_TAGS), frozenset(STATS_FIELDS)),
        Measurement(ALARM_KPI, frozenset(KPI_TAGS), frozenset(KPI_FIELDS)),
        Measurement(
            SYSTEM_HEALTH,
            frozenset({HEALTH_INSTANCE_TAG, *HEALTH_DEVICE_TAGS}),
            HEALTH_FIELDS | HEALTH_DEVICE_FIELDS,
        ),
    )
}
