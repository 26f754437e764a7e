"""Grafana dashboards for every site of a config: what a control room puts on its wall.

Per site: an overview (critical sensors coloured by their limits, active alarms, sensor health,
device communication), area trends with the limits as bands, alarms with ISA-18.2 KPIs, and
toxic-gas exposure; plus one system-health dashboard for hazwatch itself. Uids are derived
from the site id only, so rebuilding or pushing again replaces the same dashboards.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence

from dashboards import queries as q
from dashboards.panels import (
    DATASOURCE,
    LEVEL_COLORS,
    OFFLINE_COLOR,
    OFFLINE_MAPPING,
    Layout,
    Panel,
    grafana_unit,
    influx_target,
    limit_thresholds,
    panel,
)
from hazwatch.config import HazwatchConfig, SensorInfo, SensorRegistry
from hazwatch.config.defaults import EXPOSURE_LIMITS_PPM
from hazwatch.config.kinds import BINARY_KINDS, TOXIC_KINDS
from hazwatch.config.limits import LimitLevel, Limits
from hazwatch.quality import QUALITY_NAMES, Quality

SCHEMA_VERSION = 39
TAG = "hazwatch"
FOLDER_UID = "hazwatch"
FOLDER_TITLE = "hazwatch"
SYSTEM_UID = "hw-system-health"
_UID_OK = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

QUALITY_COLORS = {
    Quality.GOOD: "green",
    Quality.OFFLINE: OFFLINE_COLOR,
    Quality.FAULT: "red",
    Quality.CALIBRATION: "blue",
    Quality.PSEUDO: "yellow",
}
QUALITY_MAPPINGS = [
    {
        "type": "value",
        "options": {
            str(int(code)): {"text": QUALITY_NAMES[int(code)], "color": color, "index": int(code)}
            for code, color in QUALITY_COLORS.items()
        },
    }
]
LEVEL_MAPPINGS = [
    {
        "type": "value",
        "options": {
            str(level): {"text": "normal" if level == 0 else f"level {level}", "color": color, "index": level}
            for level, color in LEVEL_COLORS.items()
        },
    }
]
BINARY_MAPPINGS = [
    {"type": "value", "options": {"0": {"text": "OFF", "index": 0}, "1": {"text": "ON", "index": 1}}},
    OFFLINE_MAPPING,
]


def dashboard_uid(site: str, part: str) -> str:
    """`hw-<site>-<part>`, or a shortened form with a hash when that is too long or has characters Grafana refuses."""
    uid = f"hw-{site}-{part}"
    if _UID_OK.match(uid):
        return uid
    digest = hashlib.sha1(f"{site}/{part}".encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_-]', '-', uid)[:31]}-{digest}"


def _variables(site: str) -> dict:
    def query_var(name: str, label: str, query: str, current: str, multi: bool) -> dict:
        variable = {
            "type": "query",
            "name": name,
            "label": label,
            "datasource": DATASOURCE,
            "query": query,
            "definition": query,
            "refresh": 1,
            "sort": 1,
            "multi": multi,
            "includeAll": multi,
            "current": {"text": current, "value": current},
            "options": [],
        }
        if multi:
            variable["allValue"] = ".*"
            variable["current"] = {"text": "All", "value": "$__all"}
        return variable

    return {
        "list": [
            query_var("site", "Site", q.variable_site(), site, multi=False),
            query_var("area", "Area", q.variable_area(), "All", multi=True),
            query_var("sensor", "Sensor", q.variable_sensor(), "All", multi=True),
        ]
    }


def _annotations() -> dict:
    query = q.alarm_annotations()
    return {
        "list": [
            {
                "name": "Alarms raised",
                "datasource": DATASOURCE,
                "enable": True,
                "hide": False,
                "iconColor": "red",
                "query": query,
                "target": {"refId": "Anno", "query": query, "rawQuery": True, "resultFormat": "table"},
                "textColumn": "message",
                "tagsColumn": "sensor",
            }
        ]
    }


def _dashboard(uid: str, title: str, panels: list[Panel], site: str | None, refresh: str = "10s") -> dict:
    return {
        "uid": uid,
        "title": title,
        "tags": [TAG] + ([site] if site else []),
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "refresh": refresh,
        "time": {"from": "now-6h", "to": "now"},
        "templating": _variables(site) if site else {"list": []},
        "annotations": _annotations() if site else {"list": []},
        "links": [{"type": "dashboards", "tags": [TAG], "asDropdown": True, "title": "hazwatch", "includeVars": True}],
        "panels": panels,
    }


def _limit_text(limits: Limits) -> str:
    def fmt(side: str, lv: LimitLevel) -> str:
        return f"{lv.name} {'≥' if side == 'high' else '≤'} {lv.value:g}"

    parts = [fmt("high", lv) for lv in limits.high] + [fmt("low", lv) for lv in limits.low]
    return "; ".join(parts) or "no limits configured"


def _range_defaults(sensor: SensorInfo) -> dict[str, float]:
    """The gauge's min/max from the physical range; a sensor without one (generic) lets Grafana scale."""
    bounds = {"min": sensor.range_min, "max": sensor.range_max}
    return {name: value for name, value in bounds.items() if math.isfinite(value)}


def _min_interval(sensor: SensorInfo) -> str:
    """At least three poll periods per bucket, so an empty newest bucket means the sensor really went silent."""
    return f"{max(10, math.ceil(3 * sensor.poll_interval))}s"


def _sensor_stat(sensor: SensorInfo) -> Panel:
    binary = sensor.kind in BINARY_KINDS
    return panel(
        "stat",
        sensor.name,
        [influx_target(q.current_value(sensor.site, sensor.sensor))],
        unit="none" if binary else grafana_unit(sensor.unit),
        thresholds=limit_thresholds(sensor.limits),
        mappings=BINARY_MAPPINGS if binary else [OFFLINE_MAPPING],
        description=f"{sensor.sensor} ({sensor.kind.value}, {sensor.area}): {_limit_text(sensor.limits)}",
        interval=_min_interval(sensor),
        extra_defaults={**_range_defaults(sensor), "noValue": "NO DATA"},
        options={
            "reduceOptions": {"calcs": ["last"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "area",
            "textMode": "value",
            "justifyMode": "center",
            "orientation": "auto",
        },
    )


def units_note(units: Sequence[tuple[SensorInfo, list[str]]]) -> str:
    """Which id stands for which group: a group's alarm is listed under the group's own id and area, never under a
    member's, so the alarm tables say which unit each such id is and what it is made of."""
    if not units:
        return ""
    listed = "; ".join(f"{u.sensor} = {u.name} (area {u.area}; members {', '.join(members)})" for u, members in units)
    return f" Sensor groups alarm under their own id: {listed}."


def _sensor_timeseries(sensor: SensorInfo) -> Panel:
    return panel(
        "timeseries",
        f"{sensor.name} ({sensor.sensor})",
        [influx_target(q.sensor_series(sensor.site, sensor.sensor))],
        unit=grafana_unit(sensor.unit),
        thresholds=limit_thresholds(sensor.limits),
        description=_limit_text(sensor.limits),
        interval=_min_interval(sensor),
        custom={
            "drawStyle": "line",
            "lineWidth": 1,
            "spanNulls": False,
            "showPoints": "never",
            "thresholdsStyle": {"mode": "line+area"},
        },
        overrides=[
            {
                "matcher": {"id": "byName", "options": "max"},
                "properties": [{"id": "custom.lineStyle", "value": {"fill": "dot", "dash": [2, 4]}}],
            }
        ],
        options={"legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"}},
    )


def _table(title: str, query: str, description: str = "") -> Panel:
    return panel(
        "table",
        title,
        [influx_target(query, fmt="table")],
        description=description,
        overrides=[
            {
                "matcher": {"id": "byName", "options": "level"},
                "properties": [
                    {"id": "mappings", "value": LEVEL_MAPPINGS},
                    {"id": "custom.cellOptions", "value": {"type": "color-background"}},
                ],
            }
        ],
        options={"showHeader": True, "sortBy": [{"displayName": "level", "desc": True}]},
    )


def _timeline(kind: str, title: str, query: str, mappings: list[dict], alias: str) -> Panel:
    return panel(
        kind,
        title,
        [influx_target(query, alias=alias)],
        mappings=mappings,
        thresholds={"mode": "absolute", "steps": [{"color": "transparent", "value": None}]},
        options={"showValue": "never", "mergeValues": True, "legend": {"showLegend": False}},
        extra_defaults={"color": {"mode": "fixed", "fixedColor": "transparent"}},
    )


def overview(site: str, sensors: list[SensorInfo], units: Sequence[tuple[SensorInfo, list[str]]] = ()) -> dict:
    """`units`: the site's groups' own slots, each with its members' ids."""
    layout = Layout()
    layout.row("Critical sensors")
    for sensor in (s for s in sensors if s.critical):
        layout.add(_sensor_stat(sensor), w=4, h=5)
    layout.row("Alarms and sensor health")
    layout.add(
        _table(
            "Active alarms",
            q.active_alarms(),
            "Every sensor and rule whose newest transition is not normal." + units_note(units),
        ),
        w=16,
        h=9,
    )
    health = panel(
        "stat",
        "Sensor health",
        [
            influx_target(q.quality_count(code), ref_id=ref, alias=QUALITY_NAMES[code])
            for ref, code in (("A", Quality.OFFLINE), ("B", Quality.FAULT), ("C", Quality.CALIBRATION))
        ],
        thresholds={"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]},
        description="Sensors whose newest reading in the range is offline, faulty or under calibration.",
        extra_defaults={"noValue": "0"},
        options={
            "reduceOptions": {"calcs": ["last"], "fields": "", "values": False},
            "colorMode": "background",
            "textMode": "value_and_name",
            "orientation": "vertical",
        },
    )
    layout.add(health, w=8, h=9)
    layout.row("Communication")
    layout.add(
        _timeline(
            "state-timeline",
            "Device communication",
            q.device_timeline(),
            [
                {
                    "type": "value",
                    "options": {"0": {"text": "offline", "color": "red"}, "1": {"text": "online", "color": "green"}},
                }
            ],
            alias="$tag_device",
        ),
        w=24,
        h=6,
    )
    layout.add(
        _timeline("status-history", "Reading quality", q.quality_timeline(), QUALITY_MAPPINGS, "$tag_sensor"),
        w=24,
        h=12,
    )
    return _dashboard(dashboard_uid(site, "overview"), f"{site} · overview", layout.numbered(), site)


def areas(site: str, sensors: list[SensorInfo], stats_policy: str) -> dict:
    layout = Layout()
    layout.row("Selected sensors ($area / $sensor)")
    layout.add(
        panel(
            "timeseries",
            "Selected sensors",
            [influx_target(q.selected_series(), alias="$tag_sensor")],
            custom={"spanNulls": False, "showPoints": "never"},
        ),
        w=12,
        h=8,
    )
    layout.add(
        panel(
            "timeseries",
            "5-minute max / min / mean",
            [influx_target(q.selected_statistics(stats_policy), alias="$tag_sensor $col")],
            custom={"spanNulls": False, "showPoints": "never"},
            description="The statistic provincial platforms take, from readings_5m.",
        ),
        w=12,
        h=8,
    )
    for area_id in dict.fromkeys(s.area for s in sensors):
        layout.row(f"Area {area_id}")
        for sensor in (s for s in sensors if s.area == area_id):
            layout.add(_sensor_timeseries(sensor), w=8, h=7)
    return _dashboard(dashboard_uid(site, "areas"), f"{site} · areas", layout.numbered(), site)


def _kpi_stat(title: str, field: str, steps: list[tuple[str, float | None]], unit: str = "none") -> Panel:
    return panel(
        "stat",
        title,
        [influx_target(q.kpi_latest(field))],
        unit=unit,
        thresholds={"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]},
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "background"},
    )


def alarms(site: str, units: Sequence[tuple[SensorInfo, list[str]]] = ()) -> dict:
    layout = Layout()
    layout.row("Alarms")
    layout.add(
        _timeline("state-timeline", "Alarm level by sensor", q.alarm_levels(), LEVEL_MAPPINGS, "$tag_sensor"),
        w=24,
        h=10,
    )
    layout.panels[-1]["transformations"] = [{"id": "organize", "options": {"excludeByName": {"value": True}}}]
    layout.add(_table("Alarm events", q.alarm_history(), units_note(units).strip()), w=24, h=9)
    layout.row("ISA-18.2 alarm KPIs")
    layout.add(_kpi_stat("Alarms / 10 min", "alarms_10min", [("green", None), ("orange", 2), ("red", 10)]), w=4, h=4)
    layout.add(_kpi_stat("Time in flood", "flood_percent", [("green", None), ("red", 1)], unit="percent"), w=4, h=4)
    layout.add(_kpi_stat("Chattering alarms", "chattering", [("green", None), ("orange", 1)]), w=4, h=4)
    layout.add(_kpi_stat("Stale alarms (> 24 h)", "stale", [("green", None), ("orange", 5)]), w=4, h=4)
    layout.add(_kpi_stat("Standing alarms", "standing", [("green", None), ("orange", 10)]), w=4, h=4)
    layout.add(_kpi_stat("Flood now", "flood", [("green", None), ("red", 1)]), w=4, h=4)
    rate = panel(
        "timeseries",
        "Alarms raised per 10 min",
        [influx_target(q.alarm_rate())],
        thresholds={
            "mode": "absolute",
            "steps": [
                {"color": "green", "value": None},
                {"color": "orange", "value": 2},
                {"color": "red", "value": 10},
            ],
        },
        custom={"drawStyle": "bars", "fillOpacity": 80, "thresholdsStyle": {"mode": "dashed"}},
        description="ISA-18.2 targets about 1 per 10 min per operator; more than 10 is a flood.",
    )
    layout.add(rate, w=12, h=8)
    layout.add(
        panel(
            "bargauge",
            "Top 10 bad actors",
            [influx_target(q.bad_actors(), fmt="table")],
            options={"displayMode": "basic", "orientation": "horizontal"},
        ),
        w=6,
        h=8,
    )
    layout.add(
        panel(
            "piechart",
            "Alarms by priority",
            [influx_target(q.priority_split(), alias="$tag_priority")],
            description="Target split about 80 / 15 / 5 % low / medium / high.",
        ),
        w=6,
        h=8,
    )
    layout.add(
        panel("timeseries", "Alarms in the last 10 min (KPI writer)", [influx_target(q.kpi_series("alarms_10min"))]),
        w=24,
        h=6,
    )
    return _dashboard(dashboard_uid(site, "alarms"), f"{site} · alarms and KPIs", layout.numbered(), site)


def exposure_sensors(sensors: Iterable[SensorInfo]) -> list[SensorInfo]:
    """Toxic-gas sensors with exposure limits, unless their config turns exposure off."""
    return [
        s for s in sensors if s.kind in TOXIC_KINDS and s.kind in EXPOSURE_LIMITS_PPM and s.detect.exposure is not False
    ]


def exposure(site: str, sensors: list[SensorInfo]) -> dict:
    layout = Layout()
    layout.row("Exposure: 8-hour TWA and 15-minute STEL (GBZ 2.1)")
    for sensor in sensors:
        twa_limit, stel_limit = EXPOSURE_LIMITS_PPM[sensor.kind]
        twa = panel(
            "stat",
            f"{sensor.name} TWA 8 h",
            [influx_target(q.exposure_twa(site, sensor.sensor))],
            unit=grafana_unit(sensor.unit),
            thresholds={
                "mode": "absolute",
                "steps": [{"color": "green", "value": None}, {"color": "red", "value": twa_limit}],
            },
            description=f"{sensor.sensor}: PC-TWA {twa_limit:g} ppm",
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
            },
        )
        stel = panel(
            "timeseries",
            f"{sensor.name} STEL 15 min",
            [influx_target(q.exposure_stel(site, sensor.sensor))],
            unit=grafana_unit(sensor.unit),
            thresholds={
                "mode": "absolute",
                "steps": [{"color": "green", "value": None}, {"color": "red", "value": stel_limit}],
            },
            custom={"thresholdsStyle": {"mode": "line+area"}, "showPoints": "never"},
            description=f"{sensor.sensor}: PC-STEL {stel_limit:g} ppm",
        )
        layout.add(twa, w=4, h=6)
        layout.add(stel, w=8, h=6)
    return _dashboard(dashboard_uid(site, "exposure"), f"{site} · toxic gas exposure", layout.numbered(), site)


def system_health() -> dict:
    layout = Layout()
    layout.row("hazwatch itself")
    layout.add(
        panel(
            "stat",
            "Heartbeats in the last minute",
            [influx_target(q.heartbeats_last_minute())],
            thresholds={"mode": "absolute", "steps": [{"color": "red", "value": None}, {"color": "green", "value": 1}]},
            description="0 means the collector is down or cannot write: the dead-man alert fires.",
            extra_defaults={"noValue": "0"},
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background",
            },
        ),
        w=4,
        h=6,
    )
    series = [
        ("Ingest rate (readings/s)", ("readings_ingested_rate",), "short"),
        ("Rejected payloads (/s)", ("payloads_rejected_rate",), "short"),
        ("Backlog (points / deliveries)", ("influx_queue_points", "influx_spool_points", "outbox_pending"), "short"),
        ("Detector lag and time per batch", ("detector_lag_s", "detector_mean_s"), "s"),
        ("InfluxDB write errors (/s)", ("influx_write_errors_rate",), "short"),
    ]
    for title, fields, unit in series:
        layout.add(
            panel(
                "timeseries",
                title,
                [influx_target(q.health_series(*fields), alias="$tag_instance $col")],
                unit=unit,
                custom={"showPoints": "never"},
            ),
            w=10,
            h=6,
        )
    layout.add(
        _table("Devices", q.devices_online(), "Per-device communication as the collector last saw it."), w=24, h=8
    )
    return _dashboard(SYSTEM_UID, "hazwatch · system health", layout.numbered(), None, refresh="30s")


def build_dashboards(config: HazwatchConfig) -> list[dict]:
    """Every dashboard for every site of the config, plus the system-health dashboard."""
    registry = SensorRegistry.from_config(config)
    stats_policy = config.influxdb.stats_retention_policy
    built: list[dict] = []
    for site in config.sites:
        sensors = [s for s in registry if s.site == site.id]
        units = [(u, [registry.sensors[m].sensor for m in u.members]) for u in registry.units if u.site == site.id]
        built += [overview(site.id, sensors, units), areas(site.id, sensors, stats_policy), alarms(site.id, units)]
        toxic = exposure_sensors(sensors)
        if toxic:
            built.append(exposure(site.id, toxic))
    built.append(system_health())
    return built
