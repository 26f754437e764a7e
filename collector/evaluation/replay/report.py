"""A self-contained HTML report of a replay: KPIs side by side, an alarm timeline, and the readings of the
sensors that alarmed most, with their limits and alarm marks — what an engineer tunes limits from."""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from collector.evaluation.replay.summary import ReplaySummary, kpi_rows, rule_rows
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.events import AlarmEvent, Transition

LEVEL_COLOURS = {1: "#e6a700", 2: "#d62728", 3: "#7b0000"}
PLOTTED_SENSORS = 6


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _dates(time_ns: np.ndarray) -> np.ndarray:
    return np.asarray(time_ns, dtype="datetime64[ns]")


def timeline_png(events: list[AlarmEvent], registry: SensorRegistry) -> str | None:
    raises = [e for e in events if e.transition in (Transition.RAISE, Transition.ESCALATE)]
    if not raises:
        return None
    sensors = sorted({registry.sensors[e.slot].sensor for e in raises})
    row = {s: i for i, s in enumerate(sensors)}
    fig, ax = plt.subplots(figsize=(11, 0.3 * len(sensors) + 1.5))
    for level in sorted({e.level for e in raises}):
        picked = [e for e in raises if e.level == level]
        ax.scatter(
            _dates(np.array([e.time_ns for e in picked])),
            [row[registry.sensors[e.slot].sensor] for e in picked],
            s=18,
            color=LEVEL_COLOURS.get(level, "black"),
            label=f"level {level}",
        )
    ax.set_yticks(range(len(sensors)), sensors, fontsize=8)
    ax.set_title("alarm raises and escalations")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def sensor_png(sensor_slot: int, readings: ReadingBatch, events: list[AlarmEvent], registry: SensorRegistry) -> str:
    info = registry.sensors[sensor_slot]
    fig, ax = plt.subplots(figsize=(11, 2.6))
    ax.plot(_dates(readings.time_ns), readings.value, lw=0.8, color="#1f77b4")
    for lv in [*info.limits.high, *info.limits.low]:
        ax.axhline(
            lv.value, color=LEVEL_COLOURS.get(lv.level, "grey"), ls="--", lw=0.8, label=f"{lv.name} {lv.value:g}"
        )
    mine = [e for e in events if e.slot == sensor_slot and e.transition in (Transition.RAISE, Transition.ESCALATE)]
    for e in mine:
        ax.axvline(_dates(np.array([e.time_ns]))[0], color=LEVEL_COLOURS.get(e.level, "black"), alpha=0.4, lw=0.8)
    ax.set_title(f"{info.sensor} ({info.kind.value}, {info.unit}) — {len(mine)} raises/escalations", fontsize=9)
    ax.legend(loc="upper left", fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def write_report(
    path: str | Path,
    source: str,
    summaries: list[ReplaySummary],
    events: list[AlarmEvent],
    registry: SensorRegistry,
    reread: Callable[[set[int]], Iterable[ReadingBatch]],
) -> None:
    """`reread(slots)` yields the file's readings of those slots again (a second, filtered pass)."""
    raises = Counter(e.slot for e in events if e.transition is Transition.RAISE)
    top = [slot for slot, _ in raises.most_common(PLOTTED_SENSORS)]
    kept = ReadingBatch.concat([b.take(np.isin(b.slot, top)) for b in reread(set(top))] if top else []).sorted_by_time()
    header = "".join(f"<th>{html.escape(s.label)}</th>" for s in summaries)
    kpis = "".join(
        f"<tr><td>{html.escape(name)}</td>{''.join(f'<td>{html.escape(c)}</td>' for c in cells)}</tr>"
        for name, cells in kpi_rows(summaries)
    )
    rules = "".join(
        f"<tr><td>{html.escape(name)}</td>{''.join(f'<td>{c}</td>' for c in cells)}</tr>"
        for name, cells in rule_rows(summaries)
    )
    figures = []
    timeline = timeline_png(events, registry)
    if timeline:
        figures.append(timeline)
    for slot in top:
        figures.append(sensor_png(slot, kept.take(kept.slot == slot), events, registry))
    images = "".join(f'<p><img src="data:image/png;base64,{f}"></p>' for f in figures)
    first = summaries[0]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>hazwatch replay report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}</style></head>
<body><h1>Replay of {html.escape(source)}</h1>
<p>{first.readings:,} readings over {first.data_s / 3600:.2f} h of data, replayed in {first.wall_s:.1f} s
({first.readings_per_s:,.0f} readings/s). Generated {datetime.now(UTC).isoformat(timespec="seconds")}.</p>
<h2>Alarm KPIs (ISA-18.2)</h2><table><tr><th></th>{header}</tr>{kpis}</table>
<h2>Activations by rule</h2><table><tr><th></th>{header}</tr>{rules}</table>
<h2>Alarms and readings ({html.escape(first.label)})</h2>{images or "<p>No alarms.</p>"}
</body></html>"""
    Path(path).write_text(page, encoding="utf-8")
