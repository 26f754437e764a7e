"""A static report for a time range: each sensor's readings against its limit bands, with the alarm spans.

For shift handovers, incident reviews and bureau reporting where Grafana is not at hand: one
self-contained HTML file (plots embedded, an alarm-span table) or one PNG of all the plots.
Readings are downsampled by InfluxDB (mean and peak per bucket), so a month costs no more
than an hour.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from collector.storage.query import InfluxQuery
from hazwatch.config import SensorInfo
from hazwatch.config.limits import Limits, level_bands
from hazwatch.storage.schema import ALARMS, READINGS

NS = 1_000_000_000
MAX_POINTS = 600
LEVEL_COLORS = {1: "#ff8c00", 2: "#d62728", 3: "#8b0000"}
COLUMNS = 3


@dataclass(frozen=True)
class AlarmSpan:
    site: str
    sensor: str
    rule: str
    level: int
    start_ns: int
    end_ns: int
    peak: float
    open: bool
    """Still active at the end of the range."""


@dataclass
class SensorSeries:
    time_ns: np.ndarray
    mean: np.ndarray
    peak: np.ndarray


def bucket_seconds(start_ns: int, end_ns: int) -> int:
    return max(10, math.ceil((end_ns - start_ns) / NS / MAX_POINTS))


def fetch_series(reader: InfluxQuery, start_ns: int, end_ns: int) -> dict[tuple[str, str], SensorSeries]:
    bucket = bucket_seconds(start_ns, end_ns)
    query = (
        f'SELECT mean("value") AS "mean", max("value") AS "peak" FROM "{READINGS}" '
        f"WHERE time >= {start_ns} AND time <= {end_ns} "
        f'GROUP BY time({bucket}s), "site", "sensor" fill(null)'
    )
    found = {}
    for series in reader.series(query):
        rows = np.array(series["values"], dtype=object)
        as_float = np.vectorize(lambda v: np.nan if v is None else float(v), otypes=[float])
        found[(series["tags"]["site"], series["tags"]["sensor"])] = SensorSeries(
            rows[:, 0].astype(np.int64), as_float(rows[:, 1]), as_float(rows[:, 2])
        )
    return found


def alarm_spans(rows: Sequence[dict], end_ns: int) -> list[AlarmSpan]:
    """Raise → clear spans per sensor and rule from time-ordered `alarms` rows; the level is the highest reached."""
    spans: list[AlarmSpan] = []
    opened: dict[tuple[str, str, str], dict] = {}
    for row in sorted(rows, key=lambda r: r["time"]):
        key = (row["site"], row["sensor"], row["rule"])
        value = np.nan if row.get("value") is None else float(row["value"])
        if row["state"] != "normal":
            span = opened.setdefault(key, {"start": row["time"], "level": 0, "peak": -np.inf})
            span["level"] = max(span["level"], int(row["level"] or 0))
            span["peak"] = np.nanmax([span["peak"], value])
        elif key in opened:
            span = opened.pop(key)
            spans.append(AlarmSpan(*key, span["level"], span["start"], row["time"], span["peak"], False))
    spans += [AlarmSpan(*key, s["level"], s["start"], end_ns, s["peak"], True) for key, s in opened.items()]
    return sorted(spans, key=lambda s: (s.start_ns, s.site, s.sensor))


def fetch_alarm_spans(
    reader: InfluxQuery, start_ns: int, end_ns: int, lookback_s: int = 7 * 86400
) -> list[AlarmSpan]:
    """Looks back before the range so an alarm raised earlier and still open is drawn from the range start."""
    query = (
        f'SELECT "state", "level", "value" FROM "{ALARMS}" '
        f"WHERE time >= {start_ns - lookback_s * NS} AND time <= {end_ns} "
        'GROUP BY "site", "sensor", "rule"'
    )
    return [s for s in alarm_spans(list(reader.records(query)), end_ns) if s.end_ns >= start_ns]


def _limit_bands(ax: Axes, limits: Limits, low: float, high: float) -> None:
    for lv, bottom, top in level_bands(limits, low, high):
        ax.axhspan(bottom, top, color=LEVEL_COLORS.get(lv.level, "#8b0000"), alpha=0.12, lw=0)
        ax.axhline(lv.value, color=LEVEL_COLORS.get(lv.level, "#8b0000"), lw=0.8, ls="--")


def _to_dates(time_ns: np.ndarray) -> np.ndarray:
    return time_ns.astype("datetime64[ns]")


def plot_sensors(
    sensors: Sequence[SensorInfo],
    series: dict[tuple[str, str], SensorSeries],
    spans: Sequence[AlarmSpan],
    start_ns: int,
    end_ns: int,
) -> Figure:
    rows = max(1, math.ceil(len(sensors) / COLUMNS))
    figure = Figure(figsize=(6 * COLUMNS, 2.6 * rows), layout="constrained")
    axes = figure.subplots(rows, COLUMNS, squeeze=False)
    for ax, sensor in zip(axes.flat, sensors, strict=False):
        data = series.get((sensor.site, sensor.sensor))
        limit_values = [lv.value for lv in (*sensor.limits.high, *sensor.limits.low)]
        finite = (
            []
            if data is None
            else data.peak[np.isfinite(data.peak)].tolist() + data.mean[np.isfinite(data.mean)].tolist()
        )
        low = min([*finite, *limit_values], default=sensor.range_min)
        high = max([*finite, *limit_values], default=sensor.range_max)
        pad = (high - low) * 0.1 or 1.0
        _limit_bands(ax, sensor.limits, low - pad, high + pad)
        for span in (s for s in spans if (s.site, s.sensor) == (sensor.site, sensor.sensor)):
            ax.axvspan(
                *_to_dates(np.array([max(span.start_ns, start_ns), span.end_ns])),
                color=LEVEL_COLORS.get(span.level, "#8b0000"),
                alpha=0.25,
                lw=0,
            )
        if data is not None:
            ax.plot(_to_dates(data.time_ns), data.mean, lw=1.0, color="#1f77b4", label="mean")
            ax.plot(_to_dates(data.time_ns), data.peak, lw=0.6, color="#1f77b4", alpha=0.5, ls=":", label="peak")
        ax.set_xlim(*_to_dates(np.array([start_ns, end_ns])))
        ax.set_ylim(low - pad, high + pad)
        ax.set_title(f"{sensor.sensor} · {sensor.name}", fontsize=9, loc="left")
        ax.set_ylabel(sensor.unit, fontsize=8)
        ax.tick_params(labelsize=7)
        locator = mdates.AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in list(axes.flat)[len(sensors) :]:
        ax.set_visible(False)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _iso(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / NS, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _html(title: str, sections: list[tuple[str, bytes]], spans: Sequence[AlarmSpan]) -> str:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(cell))}</td>"
            for cell in (
                s.site,
                s.sensor,
                s.rule,
                f"L{s.level}",
                _iso(s.start_ns),
                "still active" if s.open else _iso(s.end_ns),
                f"{(s.end_ns - s.start_ns) / NS / 60:.1f} min",
                f"{s.peak:.4g}",
            )
        )
        + "</tr>"
        for s in spans
    )
    images = "".join(
        f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode()}'/>"
        for name, png in sections
    )
    head = "<tr><th>site</th><th>sensor</th><th>rule</th><th>level</th><th>start (UTC)</th><th>end</th>"
    head += "<th>duration</th><th>peak</th></tr>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}img{max-width:100%}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><h2>Alarm spans ({len(spans)})</h2><table>{head}{rows}</table>"
        f"{images}</body></html>"
    )


def write_report(
    sensors: Sequence[SensorInfo], reader: InfluxQuery, start_ns: int, end_ns: int, out: Path
) -> list[AlarmSpan]:
    """Write `out` (.html: one plot per area plus the span table; .png: every sensor in one image)."""
    series = fetch_series(reader, start_ns, end_ns)
    spans = fetch_alarm_spans(reader, start_ns, end_ns)
    if out.suffix.lower() == ".png":
        out.write_bytes(_png(plot_sensors(sensors, series, spans, start_ns, end_ns)))
        return spans
    areas: dict[tuple[str, str], list[SensorInfo]] = {}
    for sensor in sensors:
        areas.setdefault((sensor.site, sensor.area), []).append(sensor)
    sections = [
        (f"{site} · {area}", _png(plot_sensors(members, series, spans, start_ns, end_ns)))
        for (site, area), members in areas.items()
    ]
    title = f"hazwatch report {_iso(start_ns)} – {_iso(end_ns)} UTC"
    out.write_text(_html(title, sections, spans), encoding="utf-8")
    return spans
