"""Threshold rule: multi-level high and low limits with deadband, on/off delays and latching.

Each level of each side is its own little state machine (raw condition with hysteresis → on/off delay →
latch); the reported level of a side is the highest level active. A level with no on-delay goes active on
the very reading that crosses it, which is what the methane power-cut path needs (DOMAIN.md §1: cut within
2 s, no delay). Columns whose readings stay below every limit and hold no state are skipped after one
comparison, so a quiet province costs two vector compares per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detectors.conditions import ConditionChange
from detectors.frame import NEVER, Frame, Series
from detectors.rule import Rule
from detectors.scan import changed_cells, last_decision, run_start

HIGH = "threshold.high"
LOW = "threshold.low"


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """One limit level as the detector needs it (the config's LimitLevel, without pydantic)."""

    level: int
    name: str
    value: float
    reset: float
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    latch: bool = False
    priority: str = "medium"
    action: str = "alarm"


class LevelTable:
    """One side's levels for every slot as (slots × levels) arrays, levels ascending; NaN limit = no level."""

    def __init__(self, per_slot: Sequence[Sequence[LevelSpec]]) -> None:
        n = len(per_slot)
        width = max([len(levels) for levels in per_slot] + [1])
        self.limit = np.full((n, width), np.nan)
        self.reset = np.full((n, width), np.nan)
        self.on_ns = np.zeros((n, width), dtype=np.int64)
        self.off_ns = np.zeros((n, width), dtype=np.int64)
        self.latch = np.zeros((n, width), dtype=bool)
        self.level = np.zeros((n, width), dtype=np.int8)
        self.specs: list[list[LevelSpec]] = []
        for slot, levels in enumerate(per_slot):
            ordered = sorted(levels, key=lambda spec: spec.level)
            self.specs.append(ordered)
            for j, spec in enumerate(ordered):
                self.limit[slot, j] = spec.value
                self.reset[slot, j] = spec.reset
                self.on_ns[slot, j] = round(spec.on_delay_s * 1e9)
                self.off_ns[slot, j] = round(spec.off_delay_s * 1e9)
                self.latch[slot, j] = spec.latch
                self.level[slot, j] = spec.level

    def spec(self, slot: int, level: int) -> LevelSpec:
        return next(spec for spec in self.specs[slot] if spec.level == level)


class _Side:
    """State of one side (high or low) for every slot. The low side runs on negated values and limits."""

    def __init__(self, table: LevelTable, rule: str, sign: float) -> None:
        self.table = table
        self.rule = rule
        self.sign = sign
        n, width = table.limit.shape
        self.limit = sign * table.limit
        self.reset_value = sign * table.reset
        self.entry = np.where(np.isnan(self.limit), np.inf, self.limit).min(axis=1)
        self.raw = np.zeros((n, width), dtype=bool)
        self.active = np.zeros((n, width), dtype=bool)
        self.latched = np.zeros((n, width), dtype=bool)
        self.start = np.full((n, width), NEVER, dtype=np.int64)
        self.level = np.zeros(n, dtype=np.int8)
        self.engaged = np.zeros(n, dtype=bool)
        self.last_value = np.full(n, np.nan)


class ThresholdDetector(Rule):
    """Emits 'threshold.high' / 'threshold.low' condition changes (category 'process').

    Latching belongs to the alarm lifecycle (ISA-18.2 'latched' state): by default a latching level is
    reported with `latch=True` and its condition level still follows the readings (with hysteresis),
    and the lifecycle holds the alarm until an operator resets it. With `hold_latched=True` the detector
    itself holds a latched level until `reset(slot)`, for use without a latching lifecycle.
    """

    def __init__(
        self,
        high: LevelTable,
        low: LevelTable,
        labels: Sequence[str],
        units: Sequence[str] | None = None,
        hold_latched: bool = False,
    ) -> None:
        self.hold_latched = hold_latched
        self.sides = (_Side(high, HIGH, 1.0), _Side(low, LOW, -1.0))
        self.labels = list(labels)
        self.units = list(units) if units is not None else [""] * len(self.labels)
        self.n_slots = len(self.labels)

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        return self.update_series(series)

    def update_series(self, series: Series) -> list[ConditionChange]:
        changes: list[ConditionChange] = []
        for side in self.sides:
            changes += self._update_side(side, series)
        return changes

    def _update_side(self, side: _Side, series: Series) -> list[ConditionChange]:
        columns = series.slots
        value = series.value if side.sign > 0 else -series.value
        busy = (value >= side.entry[columns]).any(axis=0) | side.engaged[columns]
        if not busy.any():
            return []
        picked = np.flatnonzero(busy)
        slots = columns[picked]
        v = value[:, picked]
        t = series.time[:, picked]
        levels = np.zeros(v.shape, dtype=np.int8)
        for j in range(side.limit.shape[1]):
            limit = side.limit[slots, j]
            if np.isnan(limit).all():
                continue
            levels = np.maximum(levels, self._scan_level(side, slots, j, v, t, limit))
        side.engaged[slots] = (side.raw[slots] | side.active[slots] | side.latched[slots]).any(axis=1)
        side.last_value[slots] = side.sign * v[-1]
        changes = self._changes(side, slots, levels, side.sign * v, t)
        side.level[slots] = levels[-1]
        return changes

    def _scan_level(
        self, side: _Side, slots: np.ndarray, j: int, v: np.ndarray, t: np.ndarray, limit: np.ndarray
    ) -> np.ndarray:
        over = v >= limit
        under = v < side.reset_value[slots, j]
        raw = last_decision(over | under, over, side.raw[slots, j])
        start = run_start(raw, side.raw[slots, j], t, side.start[slots, j])
        on_ns = side.table.on_ns[slots, j]
        off_ns = side.table.off_ns[slots, j]
        if not on_ns.any() and not off_ns.any():
            active = raw
        else:
            held = t - start
            turn_on = raw & (held >= on_ns)
            turn_off = ~raw & (held >= off_ns)
            active = last_decision(turn_on | turn_off, turn_on, side.active[slots, j])
        effective = active
        latch = side.table.latch[slots, j]
        if self.hold_latched and latch.any():
            latched = np.logical_or.accumulate(active & latch, axis=0) | side.latched[slots, j]
            side.latched[slots, j] = latched[-1]
            effective = active | latched
        side.raw[slots, j] = raw[-1]
        side.start[slots, j] = start[-1]
        side.active[slots, j] = active[-1]
        return np.where(effective, side.table.level[slots, j], 0).astype(np.int8)

    def _changes(
        self, side: _Side, slots: np.ndarray, levels: np.ndarray, value: np.ndarray, time: np.ndarray
    ) -> list[ConditionChange]:
        rows, cols = changed_cells(levels, side.level[slots])
        out = []
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            before = int(levels[r - 1, c]) if r else int(side.level[slots[c]])
            out.append(
                self._change(side, int(slots[c]), int(levels[r, c]), before, float(value[r, c]), int(time[r, c]))
            )
        return out

    def _change(self, side: _Side, slot: int, level: int, before: int, value: float, time_ns: int) -> ConditionChange:
        spec = side.table.spec(slot, level or before)
        unit = self.units[slot]
        if level:
            relation = "≥" if side.sign > 0 else "≤"
            message = f"{self.labels[slot]} {value:.4g} {unit} {relation} {spec.name} limit {spec.value:g} {unit}"
        else:
            message = f"{self.labels[slot]} {value:.4g} {unit} back past the {spec.name} reset {spec.reset:g} {unit}"
        return ConditionChange(
            slot=slot,
            rule=side.rule,
            category="process",
            level=level,
            level_name=spec.name if level else "normal",
            priority=spec.priority,
            value=value,
            limit=spec.value,
            time_ns=time_ns,
            message=" ".join(message.split()),
            latch=spec.latch and level > 0,
            extra={"action": spec.action} if level else {},
        )

    def tick(self, now_ns: int) -> list[ConditionChange]:
        """On- and off-delays that ran out with no new reading."""
        changes: list[ConditionChange] = []
        for side in self.sides:
            slots = np.flatnonzero(side.engaged)
            if not len(slots):
                continue
            held = now_ns - side.start[slots]
            table = side.table
            turn_on = side.raw[slots] & ~side.active[slots] & (held >= table.on_ns[slots])
            turn_off = ~side.raw[slots] & side.active[slots] & (held >= table.off_ns[slots])
            if not (turn_on.any() or turn_off.any()):
                continue
            side.active[slots] = (side.active[slots] | turn_on) & ~turn_off
            if self.hold_latched:
                side.latched[slots] |= side.active[slots] & table.latch[slots]
            changes += self._settle(side, slots, now_ns)
        return changes

    def reset(self, slot: int, now_ns: int) -> list[ConditionChange]:
        """An operator's reset: latched levels whose condition has gone clear; active ones stay."""
        changes: list[ConditionChange] = []
        for side in self.sides:
            side.latched[slot] &= side.active[slot]
            changes += self._settle(side, np.array([slot]), now_ns)
        return changes

    def _settle(self, side: _Side, slots: np.ndarray, now_ns: int) -> list[ConditionChange]:
        effective = side.active[slots] | side.latched[slots]
        levels = np.where(effective, side.table.level[slots], 0).max(axis=1).astype(np.int8)
        side.engaged[slots] = (side.raw[slots] | effective).any(axis=1)
        out = []
        for slot, level in zip(slots.tolist(), levels.tolist(), strict=True):
            before = int(side.level[slot])
            if level != before:
                out.append(self._change(side, slot, level, before, float(side.last_value[slot]), now_ns))
                side.level[slot] = level
        return out
