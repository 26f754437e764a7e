"""The InfluxQL every panel runs, written out in full (`rawQuery: true`) against hazwatch/storage/schema.py.

Grafana expands `$timeFilter`, `$__interval` and the template variables `$site`, `$area`,
`$sensor` before sending a query; the variables' "All" value is `.*`, so a regex filter
`"area" =~ /^$area$/` matches every area.
"""

from __future__ import annotations

from hazwatch.storage.schema import ALARM_KPI, ALARMS, READINGS, READINGS_5M, SYSTEM_HEALTH

ACTIVE_ALARM_LOOKBACK = "30d"
"""How far back the active-alarm list looks for an alarm's last transition (independent of the time picker)."""
TWA_WINDOW = "8h"
STEL_MINUTES = 15


def quote(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def point(site: str, sensor: str) -> str:
    return f'"site" = {quote(site)} AND "sensor" = {quote(sensor)}'


SITE_VAR = '"site" =~ /^$site$/'
AREA_VAR = '"area" =~ /^$area$/'
SENSOR_VAR = '"sensor" =~ /^$sensor$/'
SELECTED = f"{SITE_VAR} AND {AREA_VAR} AND {SENSOR_VAR}"


def variable_site() -> str:
    return f'SHOW TAG VALUES FROM "{READINGS}" WITH KEY = "site"'


def variable_area() -> str:
    return f'SHOW TAG VALUES FROM "{READINGS}" WITH KEY = "area" WHERE {SITE_VAR}'


def variable_sensor() -> str:
    return f'SHOW TAG VALUES FROM "{READINGS}" WITH KEY = "sensor" WHERE {SITE_VAR} AND {AREA_VAR}'


def current_value(site: str, sensor: str) -> str:
    """Per-interval mean, null-filled: the newest bucket is empty when the sensor went silent."""
    return (
        f'SELECT mean("value") AS "value" FROM "{READINGS}" WHERE {point(site, sensor)} AND $timeFilter '
        "GROUP BY time($__interval) fill(null)"
    )


def sensor_series(site: str, sensor: str) -> str:
    """Mean and peak per interval: a spike must not vanish into an average when zoomed out."""
    return (
        f'SELECT mean("value") AS "mean", max("value") AS "max" FROM "{READINGS}" '
        f"WHERE {point(site, sensor)} AND $timeFilter GROUP BY time($__interval) fill(null)"
    )


def selected_series() -> str:
    return (
        f'SELECT mean("value") AS "value" FROM "{READINGS}" WHERE {SELECTED} AND $timeFilter '
        'GROUP BY time($__interval), "sensor" fill(null)'
    )


def selected_statistics(retention_policy: str) -> str:
    """readings_5m lives in its own (long) retention policy, so the query names it."""
    return (
        f'SELECT max("max") AS "max", min("min") AS "min", mean("mean") AS "mean" '
        f'FROM "{retention_policy}"."{READINGS_5M}" '
        f'WHERE {SELECTED} AND $timeFilter GROUP BY time(5m), "sensor" fill(none)'
    )


def quality_timeline() -> str:
    return (
        f'SELECT last("quality") AS "quality" FROM "{READINGS}" WHERE {SITE_VAR} AND {AREA_VAR} AND $timeFilter '
        'GROUP BY time($__interval), "sensor" fill(null)'
    )


def quality_count(quality: int) -> str:
    """How many sensors' newest reading in the range carries this quality code."""
    return (
        'SELECT count("q") AS "sensors" FROM '
        f'(SELECT last("quality") AS "q" FROM "{READINGS}" WHERE {SITE_VAR} AND $timeFilter GROUP BY "sensor") '
        f'WHERE "q" = {quality}'
    )


def device_timeline() -> str:
    return (
        f'SELECT last("online") AS "online" FROM "{SYSTEM_HEALTH}" WHERE {SITE_VAR} AND $timeFilter '
        'GROUP BY time($__interval), "device" fill(null)'
    )


def active_alarms() -> str:
    """Each sensor and rule's newest transition, kept when it left the alarm not normal (incl. RTN unacked)."""
    inner = (
        'SELECT last("value") AS "value", "limit", "level", "state", "priority", "category", "message" '
        f'FROM "{ALARMS}" WHERE {SITE_VAR} AND time > now() - {ACTIVE_ALARM_LOOKBACK} '
        'GROUP BY "area", "sensor", "rule"'
    )
    return f"SELECT * FROM ({inner}) WHERE \"state\" <> 'normal'"


def alarm_history() -> str:
    return (
        'SELECT "sensor", "rule", "transition", "state", "level", "priority", "value", "limit", "message" '
        f'FROM "{ALARMS}" WHERE {SITE_VAR} AND {AREA_VAR} AND {SENSOR_VAR} AND $timeFilter'
    )


def alarm_levels() -> str:
    """Each transition's level per sensor: the state timeline holds it until the next transition."""
    return (
        f'SELECT "level", "value" FROM "{ALARMS}" WHERE {SITE_VAR} AND {AREA_VAR} AND {SENSOR_VAR} '
        'AND $timeFilter GROUP BY "sensor"'
    )


def alarm_annotations() -> str:
    return f'SELECT "message", "value" FROM "{ALARMS}" WHERE {SITE_VAR} AND "transition" = \'raise\' AND $timeFilter'


def alarm_rate() -> str:
    """ISA-18.2's headline KPI: alarms raised per 10 minutes (target ~1, 10 is a flood)."""
    return (
        f'SELECT count("event_id") AS "alarms" FROM "{ALARMS}" WHERE {SITE_VAR} AND "transition" = \'raise\' '
        "AND $timeFilter GROUP BY time(10m) fill(0)"
    )


def bad_actors() -> str:
    return (
        'SELECT top("raises", "sensor", 10) AS "raises" FROM '
        f'(SELECT count("event_id") AS "raises" FROM "{ALARMS}" WHERE {SITE_VAR} AND "transition" = \'raise\' '
        'AND $timeFilter GROUP BY "sensor")'
    )


def priority_split() -> str:
    return (
        f'SELECT count("event_id") AS "alarms" FROM "{ALARMS}" WHERE {SITE_VAR} AND "transition" = \'raise\' '
        'AND $timeFilter GROUP BY "priority"'
    )


def kpi_latest(field: str) -> str:
    return f'SELECT last("{field}") AS "{field}" FROM "{ALARM_KPI}" WHERE {SITE_VAR} AND $timeFilter'


def kpi_series(field: str) -> str:
    return (
        f'SELECT max("{field}") AS "{field}" FROM "{ALARM_KPI}" WHERE {SITE_VAR} AND $timeFilter '
        "GROUP BY time($__interval) fill(null)"
    )


def exposure_twa(site: str, sensor: str) -> str:
    """8-hour time-weighted average, ending now (readings are evenly spaced, so the mean is the TWA)."""
    return (
        f'SELECT mean("value") AS "TWA" FROM "{READINGS}" WHERE {point(site, sensor)} AND time > now() - {TWA_WINDOW}'
    )


def exposure_stel(site: str, sensor: str) -> str:
    """15-minute short-term exposure: a moving average of minute means."""
    return (
        f'SELECT moving_average(mean("value"), {STEL_MINUTES}) AS "STEL" FROM "{READINGS}" '
        f"WHERE {point(site, sensor)} AND $timeFilter GROUP BY time(1m) fill(none)"
    )


def health_series(*fields: str) -> str:
    selected = ", ".join(f'mean("{f}") AS "{f}"' for f in fields)
    return (
        f'SELECT {selected} FROM "{SYSTEM_HEALTH}" WHERE "device" = \'\' AND $timeFilter '
        'GROUP BY time($__interval), "instance" fill(null)'
    )


def heartbeats_last_minute() -> str:
    return f'SELECT count("heartbeat") AS "heartbeats" FROM "{SYSTEM_HEALTH}" WHERE time > now() - 1m'


def devices_online() -> str:
    return f'SELECT last("online") AS "online" FROM "{SYSTEM_HEALTH}" WHERE $timeFilter GROUP BY "site", "device"'
