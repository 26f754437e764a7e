"""Grafana panel JSON (the classic dashboard model Grafana 10+ provisions), as plain data.

No dashboards-as-code library is used: grafanalib has had no release since January 2024, and
grafana-foundation-sdk (official, marked experimental) has no InfluxDB query type. The few
panel shapes hazwatch needs are small dicts built here, each with a raw InfluxQL target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hazwatch.config.limits import Limits

DATASOURCE_UID = "hazwatch-influxdb"
DATASOURCE_NAME = "hazwatch InfluxDB"
DATASOURCE: dict[str, str] = {"type": "influxdb", "uid": DATASOURCE_UID}

NORMAL_COLOR = "green"
LEVEL_COLORS: dict[int, str] = {0: NORMAL_COLOR, 1: "orange", 2: "red", 3: "dark-red"}
"""Alarm level → colour, the same on every panel and in the terminal view."""
OFFLINE_COLOR = "purple"

Panel = dict[str, Any]
ResultFormat = Literal["time_series", "table"]


def influx_target(query: str, ref_id: str = "A", fmt: ResultFormat = "time_series", alias: str = "") -> dict:
    """A raw InfluxQL target: the query is sent as written, so tests can run exactly what Grafana runs."""
    target = {"refId": ref_id, "datasource": DATASOURCE, "query": query, "rawQuery": True, "resultFormat": fmt}
    if alias:
        target["alias"] = alias
    return target


def level_color(level: int) -> str:
    return LEVEL_COLORS.get(level, LEVEL_COLORS[3])


def limit_thresholds(limits: Limits) -> dict:
    """Threshold steps whose colours change exactly at the configured limits.

    Low limits colour everything below them (the lowest, most severe one is the base colour);
    high limits colour everything above. Equal values are ordered by level so the higher level wins.
    """
    low = sorted(limits.low, key=lambda lv: (lv.value, -lv.level))
    steps: list[dict] = [{"color": level_color(low[0].level) if low else NORMAL_COLOR, "value": None}]
    for i, lv in enumerate(low):
        above = level_color(low[i + 1].level) if i + 1 < len(low) else NORMAL_COLOR
        steps.append({"color": above, "value": lv.value})
    for lv in sorted(limits.high, key=lambda lv: (lv.value, lv.level)):
        steps.append({"color": level_color(lv.level), "value": lv.value})
    return {"mode": "absolute", "steps": steps}


OFFLINE_MAPPING = {
    "type": "special",
    "options": {"match": "null", "result": {"text": "OFFLINE", "color": OFFLINE_COLOR}},
}
"""A sensor with no reading in the panel's last interval shows OFFLINE, never its last good value."""


def panel(
    kind: str,
    title: str,
    targets: list[dict],
    *,
    unit: str = "",
    thresholds: dict | None = None,
    options: dict | None = None,
    custom: dict | None = None,
    mappings: list[dict] | None = None,
    overrides: list[dict] | None = None,
    transformations: list[dict] | None = None,
    description: str = "",
    interval: str = "",
    extra_defaults: dict | None = None,
) -> Panel:
    defaults: dict[str, Any] = {"unit": unit or "none", "mappings": mappings or []}
    if thresholds is not None:
        defaults["thresholds"] = thresholds
        defaults["color"] = {"mode": "thresholds"}
    if custom is not None:
        defaults["custom"] = custom
    defaults.update(extra_defaults or {})
    built: Panel = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        built["transformations"] = transformations
    if interval:
        built["interval"] = interval
    return built


def grafana_unit(unit: str) -> str:
    """Grafana's unit id where it has one (so axes format nicely), otherwise the config's unit as a suffix."""
    known = {"%": "percent", "°C": "celsius", "kPa": "pressurekpa", "Pa": "pressurepa"}
    return known.get(unit) or (f"suffix: {unit}" if unit else "none")


@dataclass
class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping to a new line when full."""

    panels: list[Panel] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _line_height: int = 0

    def row(self, title: str) -> None:
        self.newline()
        self.panels.append(
            {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": self._pos(24, 1)}
        )
        self._y += 1

    def add(self, item: Panel, w: int, h: int) -> None:
        if self._x + w > 24:
            self.newline()
        item["gridPos"] = self._pos(w, h)
        self.panels.append(item)
        self._x += w
        self._line_height = max(self._line_height, h)

    def newline(self) -> None:
        self._y += self._line_height
        self._x = 0
        self._line_height = 0

    def _pos(self, w: int, h: int) -> dict:
        return {"x": self._x, "y": self._y, "w": w, "h": h}

    def numbered(self) -> list[Panel]:
        """Panels with the ids Grafana needs (unique within the dashboard, in layout order)."""
        for i, item in enumerate(self.panels, start=1):
            item["id"] = i
        return self.panels
