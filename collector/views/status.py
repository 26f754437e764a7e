"""The live terminal view: every sensor's value, level colour, trend and health, and the active alarms.

For operators without Grafana (over SSH, in the demo). It is a ReadingSink and an EventSink,
so the pipeline feeds it like any other sink; per-slot state (last value, time, quality and a
smoothed value for the trend arrow) lives in numpy arrays updated a whole batch at a time, and
only the ~1 Hz render walks the sensors one by one. InfluxSnapshot feeds the same view from
the database of a running system (`hazwatch status`).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from collector.storage.query import InfluxQuery
from hazwatch.batch import ReadingBatch
from hazwatch.config.kinds import DEFAULT_RANGE, DEFAULT_UNIT, SensorKind
from hazwatch.config.limits import Limits, level_reached
from hazwatch.events import AlarmEvent, AlarmState, Transition
from hazwatch.quality import QUALITY_NAMES, Quality
from hazwatch.storage.schema import ALARMS, READINGS

NS = 1_000_000_000
OFFLINE_AFTER_POLLS = 3.0
"""No reading for this many poll intervals: the value is no longer current and is not shown."""
TREND_TAU_S = 60.0
TREND_FRACTION = 0.005
"""A move of more than this share of the sensor's range away from its smoothed value shows an arrow."""

LEVEL_STYLES = {0: "green", 1: "bold black on dark_orange", 2: "bold white on red", 3: "bold white on dark_red"}
HEALTH_STYLES = {
    Quality.GOOD: "green",
    Quality.OFFLINE: "bold white on purple",
    Quality.FAULT: "bold white on red",
    Quality.CALIBRATION: "bold white on blue",
    Quality.PSEUDO: "black on yellow",
}
_CLEARED_STATES = {AlarmState.NORMAL}
STATE_LABELS = {
    AlarmState.UNACKNOWLEDGED: "UNACK",
    AlarmState.ACKNOWLEDGED: "ack",
    AlarmState.RTN_UNACKNOWLEDGED: "rtn-unack",
    AlarmState.LATCHED: "LATCHED",
    AlarmState.SHELVED: "shelved",
    AlarmState.OUT_OF_SERVICE: "oos",
}


class ViewSensor(Protocol):
    """What the view needs of a sensor; hazwatch.config.SensorInfo has all of it."""

    site: str
    area: str
    sensor: str
    name: str
    unit: str
    limits: Limits
    range_min: float
    range_max: float
    poll_interval: float
    members: tuple[int, ...]
    """Non-empty for a group's own slot (a unit): it has alarms but no readings of its own."""


class StatusView:
    def __init__(
        self,
        sensors: Sequence[ViewSensor],
        console: Console | None = None,
        refresh_s: float = 1.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.sensors = list(sensors)
        self.console = console or Console()
        self.refresh_s = refresh_s
        self.clock = clock
        n = len(self.sensors)
        self.value = np.full(n, np.nan)
        self.time_ns = np.zeros(n, dtype=np.int64)
        self.quality = np.full(n, Quality.OFFLINE, dtype=np.uint8)
        self.smoothed = np.full(n, np.nan)
        span = np.array([s.range_max - s.range_min for s in self.sensors], dtype=np.float64)
        self.trend_step = np.where(np.isfinite(span) & (span > 0), span, 1.0) * TREND_FRACTION
        self.offline_after_ns = (np.array([s.poll_interval for s in self.sensors]) * OFFLINE_AFTER_POLLS * NS).astype(
            np.int64
        )
        self.active: dict[tuple[int, str], AlarmEvent] = {}

    def submit(self, batch: ReadingBatch) -> None:
        """Keep each slot's newest reading; late (back-filled) rows never overwrite a newer one."""
        if not len(batch):
            return
        order = np.lexsort((batch.time_ns, batch.slot))
        ordered_slots = batch.slot[order]
        newest = order[np.r_[ordered_slots[1:] != ordered_slots[:-1], True]]
        slots = batch.slot[newest]
        times = batch.time_ns[newest]
        keep = times >= self.time_ns[slots]
        slots, newest, times = slots[keep], newest[keep], times[keep]
        values = batch.value[newest]
        dt = (times - self.time_ns[slots]) / NS
        alpha = 1.0 - np.exp(-np.clip(dt, 0.0, None) / TREND_TAU_S)
        previous = self.smoothed[slots]
        self.smoothed[slots] = np.where(
            np.isfinite(values),
            np.where(np.isfinite(previous), previous + alpha * (values - previous), values),
            previous,
        )
        self.value[slots] = values
        self.time_ns[slots] = times
        self.quality[slots] = batch.quality[newest]

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        for event in events:
            key = (event.slot, event.rule)
            if event.state in _CLEARED_STATES:
                self.active.pop(key, None)
            else:
                self.active[key] = event

    async def run(self) -> None:
        with Live(self.render(), console=self.console, refresh_per_second=4, transient=False) as live:
            while True:
                await asyncio.sleep(self.refresh_s)
                live.update(self.render())

    async def close(self) -> None:
        """Nothing buffered: the view only shows state."""

    def _cells(self, slot: int, now_ns: int) -> tuple[Text, str, Text, Text]:
        sensor = self.sensors[slot]
        quality = Quality(int(self.quality[slot]))
        seen = self.time_ns[slot] > 0
        silent = not seen or now_ns - self.time_ns[slot] > self.offline_after_ns[slot]
        value = float(self.value[slot])
        current = seen and not silent and quality != Quality.OFFLINE and math.isfinite(value)
        # The level column is the process level: health alarms show in the health column, and a flagged reading
        # (calibration gas, pseudo data) is never an over-limit.
        alarm_level = max(
            (e.level for (s, _), e in self.active.items() if s == slot and e.category == "process"), default=0
        )
        judged = current and quality == Quality.GOOD
        level = max(alarm_level, level_reached(sensor.limits, value) if judged else 0)
        level_text = Text("normal" if level == 0 else f"L{level}", style=LEVEL_STYLES.get(level, LEVEL_STYLES[3]))
        if sensor.members:
            # A unit reads nothing itself: its row is its own alarm state, never "no data".
            return Text("—"), " ", level_text, Text(f"unit of {len(sensor.members)}", style="green")
        if silent:
            health = Text("no data" if not seen else f"offline {(now_ns - self.time_ns[slot]) / NS:.0f} s")
            health.stylize(HEALTH_STYLES[Quality.OFFLINE])
        else:
            health = Text(QUALITY_NAMES[int(quality)], style=HEALTH_STYLES.get(quality, ""))
        shown = Text(f"{value:.4g}" if current else "—", style=LEVEL_STYLES.get(level, LEVEL_STYLES[3]))
        trend = "→"
        if current and math.isfinite(self.smoothed[slot]):
            delta = value - self.smoothed[slot]
            trend = "↑" if delta > self.trend_step[slot] else "↓" if delta < -self.trend_step[slot] else "→"
        return shown, trend if current else " ", level_text, health

    def _area_table(self, site: str, area: str, slots: list[int], now_ns: int) -> Table:
        table = Table(title=f"{site} · {area}", title_justify="left", expand=False, pad_edge=False)
        for column, justify in (("sensor", "left"), ("value", "right"), ("unit", "left"), ("", "center")):
            table.add_column(column, justify=justify, no_wrap=True)
        table.add_column("level", no_wrap=True)
        table.add_column("health", no_wrap=True)
        for slot in slots:
            shown, trend, level, health = self._cells(slot, now_ns)
            table.add_row(self.sensors[slot].sensor, shown, self.sensors[slot].unit, trend, level, health)
        return table

    def _alarm_table(self) -> Table:
        """Few, narrow columns with the message wrapping, so it stays readable in an 80-column SSH session."""
        table = Table(title=f"Active alarms ({len(self.active)})", title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("since", no_wrap=True)
        table.add_column("sensor", no_wrap=True)
        table.add_column("level / state", no_wrap=True)
        table.add_column("value / limit", no_wrap=True, justify="right")
        table.add_column("message", overflow="fold", min_width=16)
        for event in sorted(self.active.values(), key=lambda e: (-e.level, e.time_ns)):
            sensor = self.sensors[event.slot]
            since = datetime.fromtimestamp(event.time_ns / NS, tz=UTC).strftime("%H:%M:%S")
            state = STATE_LABELS.get(event.state, event.state.value)
            table.add_row(
                since,
                sensor.sensor,
                Text(
                    f"{event.level_name or f'L{event.level}'} {state}",
                    style=LEVEL_STYLES.get(event.level, LEVEL_STYLES[3]),
                ),
                f"{event.value:.4g} / {event.limit:.4g}",
                event.message,
            )
        return table

    def render(self) -> RenderableType:
        now_ns = self.clock()
        groups: dict[tuple[str, str], list[int]] = {}
        for slot, sensor in enumerate(self.sensors):
            groups.setdefault((sensor.site, sensor.area), []).append(slot)
        tables = [self._area_table(site, area, slots, now_ns) for (site, area), slots in groups.items()]
        stamp = datetime.fromtimestamp(now_ns / NS, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        units = sum(1 for s in self.sensors if s.members)
        counted = f"{len(self.sensors) - units} sensors" + (f", {units} units" if units else "")
        header = Text(f"hazwatch status · {counted} · {stamp}", style="bold")
        return Group(header, Columns(tables, padding=(0, 2)), self._alarm_table())


LOOKBACK = "1h"
ALARM_LOOKBACK = "30d"
_NEWEST = (
    f'SELECT last("quality") AS "quality" FROM "{READINGS}" WHERE time > now() - {{lookback}} GROUP BY "site", "area", '
    '"sensor", "kind"'
)
_NEWEST_VALUE = (
    f'SELECT last("value") AS "value" FROM "{READINGS}" WHERE time > now() - {{lookback}} GROUP BY "site", "sensor"'
)
_ACTIVE = (
    'SELECT * FROM (SELECT last("value") AS "value", "limit", "level", "level_name", "state", "priority", '
    f'"category", "transition", "message", "event_id" FROM "{ALARMS}" WHERE time > now() - {{lookback}} '
    'GROUP BY "site", "sensor", "rule") WHERE "state" <> \'normal\''
)


@dataclass(frozen=True)
class TaggedSensor:
    """A sensor known only from its InfluxDB tags (no config given): no limits, the kind's unit and range."""

    site: str
    area: str
    sensor: str
    name: str
    unit: str
    range_min: float
    range_max: float
    poll_interval: float = 10.0
    limits: Limits = field(default_factory=Limits)
    members: tuple[int, ...] = ()

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> TaggedSensor:
        kind = SensorKind(tags["kind"]) if tags["kind"] in {k.value for k in SensorKind} else None
        low, high = DEFAULT_RANGE.get(kind, (0.0, 1.0)) if kind else (0.0, 1.0)
        unit = DEFAULT_UNIT.get(kind, "") if kind else ""
        return cls(tags["site"], tags["area"], tags["sensor"], tags["sensor"], unit, low, high)


class InfluxSnapshot:
    """The newest state of every sensor and the active alarms, read through the one InfluxDB reader."""

    def __init__(self, reader: InfluxQuery) -> None:
        self.query = reader.series

    def sensors(self) -> list[TaggedSensor]:
        series = self.query(_NEWEST.format(lookback=LOOKBACK))
        tagged = {(s["tags"]["site"], s["tags"]["sensor"]): TaggedSensor.from_tags(s["tags"]) for s in series}
        return [tagged[key] for key in sorted(tagged)]

    def readings(self, slot_of: dict[tuple[str, str], int]) -> ReadingBatch:
        """Each sensor's newest row; its value only when that newest row carried one (else NaN: offline)."""
        newest = {
            (s["tags"]["site"], s["tags"]["sensor"]): (s["values"][0][0], s["values"][0][1])
            for s in self.query(_NEWEST.format(lookback=LOOKBACK))
        }
        valued = {
            (s["tags"]["site"], s["tags"]["sensor"]): (s["values"][0][0], s["values"][0][1])
            for s in self.query(_NEWEST_VALUE.format(lookback=LOOKBACK))
        }
        rows = [(slot_of[key], t, q) for key, (t, q) in newest.items() if key in slot_of]
        if not rows:
            return ReadingBatch.empty()
        keys = [key for key in newest if key in slot_of]
        values = [valued[k][1] if k in valued and valued[k][0] == newest[k][0] else math.nan for k in keys]
        slots, times, qualities = (np.array(column) for column in zip(*rows, strict=True))
        return ReadingBatch.from_columns(slots, times, values, qualities)

    def active_alarms(self, slot_of: dict[tuple[str, str], int]) -> list[AlarmEvent]:
        events = []
        for series in self.query(_ACTIVE.format(lookback=ALARM_LOOKBACK)):
            columns = series["columns"]
            for row in series["values"]:
                record = dict(zip(columns, row, strict=True))
                slot = slot_of.get((record["site"], record["sensor"]))
                if slot is None:
                    continue
                events.append(
                    AlarmEvent(
                        event_id=record.get("event_id") or "",
                        slot=slot,
                        rule=record["rule"],
                        category=record.get("category") or "",
                        transition=Transition(record.get("transition") or "raise"),
                        state=AlarmState(record["state"]),
                        level=int(record.get("level") or 0),
                        level_name=record.get("level_name") or "",
                        priority=record.get("priority") or "",
                        value=math.nan if record["value"] is None else float(record["value"]),
                        limit=math.nan if record.get("limit") is None else float(record["limit"]),
                        time_ns=int(record["time"]),
                        message=record.get("message") or "",
                    )
                )
        return events
