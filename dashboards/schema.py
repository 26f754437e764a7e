"""The InfluxDB schema hazwatch writes: the one contract every dashboard query is checked against.

Readings and alarms come from the InfluxDB sink (collector/sinks/lineprotocol.py); 5-minute
statistics from a continuous query into their own retention policy (collector/sinks/retention.py);
`alarm_kpi` from the alarm KPI writer; `hazwatch_health` from collector/health_writer.py. The
dashboards query nothing else: tests/dashboards parses every panel query against this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.health_writer import DEVICE_FIELDS, DEVICE_TAGS, HEALTH_FIELDS, INSTANCE_TAG
from collector.health_writer import MEASUREMENT as HEALTH

DATABASE = "hazwatch"
READINGS = "readings"
ALARMS = "alarms"
READINGS_5M = "readings_5m"
ALARM_KPI = "alarm_kpi"
SYSTEM_HEALTH = HEALTH

POINT_TAGS = ("site", "area", "sensor", "kind")


@dataclass(frozen=True)
class Measurement:
    name: str
    tags: frozenset[str]
    fields: frozenset[str]


MEASUREMENTS: dict[str, Measurement] = {
    m.name: m
    for m in (
        Measurement(READINGS, frozenset(POINT_TAGS), frozenset({"value", "quality"})),
        Measurement(
            ALARMS,
            frozenset({*POINT_TAGS, "level", "level_name", "state", "rule", "category", "transition", "priority"}),
            frozenset({"value", "limit", "event_id", "message"}),
        ),
        Measurement(READINGS_5M, frozenset(POINT_TAGS), frozenset({"max", "min", "mean"})),
        Measurement(
            ALARM_KPI,
            frozenset({"site", "priority", "bad_actor"}),
            frozenset(
                {
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
                }
            ),
        ),
        Measurement(SYSTEM_HEALTH, frozenset({INSTANCE_TAG, *DEVICE_TAGS}), HEALTH_FIELDS | DEVICE_FIELDS),
    )
}
"""`alarm_kpi` is written by collector/notify/kpi_influx.kpi_lines (the live writer and `hazwatch alarms kpi`)."""
