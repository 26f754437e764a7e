"""Threshold rule: multi-level high and low limits with deadband, on/off delays and latching.

Each level of each side is its own little state machine (raw condition with hysteresis → on/off delay →
latch); the reported level of a side is the highest level active. A level with no on-delay goes active on
the very reading that crosses it, which is what the methane power-cut path needs (DOMAIN.md §1: cut within
2 s, no delay). Columns whose readings stay below every limit and hold no state are skipped after one
comparison, so a quiet province costs two vector compares per batch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import NEVER, Frame, Series
from detectors.engine.rule import Rule
from detectors.engine.scan import changed_cells, last_decision, run_start
from detectors.engine.setup import Setup
from hazwatch.config.limits import LimitLevel

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
    """One side's levels for every slot. Slots share limit sets (a province has 600k sensors but a few dozen
    distinct limit sets), so the (sets × levels) arrays are per set, levels ascending, NaN limit = no level,
    and each slot holds the index of its set."""

    def __init__(self, per_slot: Sequence[Sequence[LevelSpec]]) -> None:
        index: dict[tuple[LevelSpec, ...], int] = {}
        seen: dict[int, int] = {}  # id of a per-slot sequence → set; callers pass one object per distinct set
        set_of = np.zeros(len(per_slot), dtype=np.int32)
        for slot, levels in enumerate(per_slot):
            found = seen.get(id(levels))
            if found is None:
                key = tuple(sorted(levels, key=lambda spec: spec.level))
                found = seen[id(levels)] = index.setdefault(key, len(index))
            set_of[slot] = found
        self.set_of = set_of
        self.sets: list[tuple[LevelSpec, ...]] = list(index)
        k = len(self.sets)
        width = max([len(levels) for levels in self.sets] + [1])
        self.limit = np.full((k, width), np.nan)
        self.reset = np.full((k, width), np.nan)
        self.on_ns = np.zeros((k, width), dtype=np.int64)
        self.off_ns = np.zeros((k, width), dtype=np.int64)
        self.latch = np.zeros((k, width), dtype=bool)
        self.level = np.zeros((k, width), dtype=np.int8)
        for i, levels in enumerate(self.sets):
            for j, spec in enumerate(levels):
                self.limit[i, j] = spec.value
                self.reset[i, j] = spec.reset
                self.on_ns[i, j] = round(spec.on_delay_s * 1e9)
                self.off_ns[i, j] = round(spec.off_delay_s * 1e9)
                self.latch[i, j] = spec.latch
                self.level[i, j] = spec.level

    @property
    def width(self) -> int:
        return self.limit.shape[1]

    def spec(self, slot: int, level: int) -> LevelSpec:
        return next(spec for spec in self.sets[self.set_of[slot]] if spec.level == level)


class _Side:
    """State of one side (high or low) for every slot. The low side runs on negated values and limits."""

    def __init__(self, table: LevelTable, rule: str, sign: float) -> None:
        self.table = table
        self.rule = rule
        self.sign = sign
        n, width = len(table.set_of), table.width
        self.limit = sign * table.limit
        self.reset_value = sign * table.reset
        self.entry = np.where(np.isnan(self.limit), np.inf, self.limit).min(axis=1)[table.set_of]
        """Per slot: the lowest (signed) limit, so a quiet column costs one comparison."""
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
        self.labels = labels
        self.units = units if units is not None else [""] * len(self.labels)
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
        at = series.index
        busy = (value >= side.entry[at]).any(axis=0) | side.engaged[at]
        if not busy.any():
            return []
        picked = np.flatnonzero(busy)
        slots = columns[picked]
        v = value[:, picked]
        t = series.time[:, picked]
        levels = np.zeros(v.shape, dtype=np.int8)
        sets = side.table.set_of[slots]
        for j in range(side.table.width):
            limit = side.limit[sets, j]
            if np.isnan(limit).all():
                continue
            levels = np.maximum(levels, self._scan_level(side, slots, sets, j, v, t, limit))
        side.engaged[slots] = (side.raw[slots] | side.active[slots] | side.latched[slots]).any(axis=1)
        side.last_value[slots] = side.sign * v[-1]
        changes = self._changes(side, slots, levels, side.sign * v, t)
        side.level[slots] = levels[-1]
        return changes

    def _scan_level(
        self,
        side: _Side,
        slots: np.ndarray,
        sets: np.ndarray,
        j: int,
        v: np.ndarray,
        t: np.ndarray,
        limit: np.ndarray,
    ) -> np.ndarray:
        over = v >= limit
        under = v < side.reset_value[sets, j]
        raw = last_decision(over | under, over, side.raw[slots, j])
        start = run_start(raw, side.raw[slots, j], t, side.start[slots, j])
        on_ns = side.table.on_ns[sets, j]
        off_ns = side.table.off_ns[sets, j]
        if not on_ns.any() and not off_ns.any():
            active = raw
        else:
            held = t - start
            turn_on = raw & (held >= on_ns)
            turn_off = ~raw & (held >= off_ns)
            active = last_decision(turn_on | turn_off, turn_on, side.active[slots, j])
        effective = active
        latch = side.table.latch[sets, j]
        if self.hold_latched and latch.any():
            latched = np.logical_or.accumulate(active & latch, axis=0) | side.latched[slots, j]
            side.latched[slots, j] = latched[-1]
            effective = active | latched
        side.raw[slots, j] = raw[-1]
        side.start[slots, j] = start[-1]
        side.active[slots, j] = active[-1]
        return np.where(effective, side.table.level[sets, j], 0).astype(np.int8)

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
            sets = table.set_of[slots]
            turn_on = side.raw[slots] & ~side.active[slots] & (held >= table.on_ns[sets])
            turn_off = ~side.raw[slots] & side.active[slots] & (held >= table.off_ns[sets])
            if not (turn_on.any() or turn_off.any()):
                continue
            side.active[slots] = (side.active[slots] | turn_on) & ~turn_off
            if self.hold_latched:
                side.latched[slots] |= side.active[slots] & table.latch[sets]
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
        levels = np.where(effective, side.table.level[side.table.set_of[slots]], 0).max(axis=1).astype(np.int8)
        side.engaged[slots] = (side.raw[slots] | effective).any(axis=1)
        out = []
        for slot, level in zip(slots.tolist(), levels.tolist(), strict=True):
            before = int(side.level[slot])
            if level != before:
                out.append(self._change(side, slot, level, before, float(side.last_value[slot]), now_ns))
                side.level[slot] = level
        return out


# ---- from the site config ----------------------------------------------------------------------------


def level_specs(levels: Sequence[LimitLevel]) -> list[LevelSpec]:
    return [
        LevelSpec(
            level=lv.level,
            name=lv.name,
            value=lv.value,
            reset=lv.reset_value,
            on_delay_s=lv.on_delay,
            off_delay_s=lv.off_delay,
            latch=lv.latch,
            priority=lv.priority,
            action=lv.action,
        )
        for lv in levels
    ]


@functools.cache
def shared_level_specs(levels: tuple[LimitLevel, ...]) -> tuple[LevelSpec, ...]:
    """Sensors with the same limits share one set of specs: a province has 600k sensors but a few dozen
    distinct limit sets, and a spec object per sensor cost ~150 bytes each (benchmarks, docs/performance.md)."""
    return tuple(level_specs(levels))


def threshold_detector(setup: Setup) -> ThresholdDetector:
    registry = setup.registry
    high = LevelTable([shared_level_specs(tuple(s.limits.high)) for s in registry])
    low = LevelTable([shared_level_specs(tuple(s.limits.low)) for s in registry])
    return ThresholdDetector(high, low, setup.labels, setup.units)


RULE = RuleDeclaration(
    name="threshold",
    phase=Phase.SENSOR,
    build=threshold_detector,
    parameters=(
        Parameter("limits.high / limits.low", "per site type, area and kind (hazwatch/config/defaults.py)",
                  "sensor unit", "DOMAIN.md §1–2: AQ 1029-2019, Coal Mine Safety Regulations, GB/T 50493-2019"),
        Parameter("on_delay / off_delay", "0 (never on the CH4 power-cut path)", "s",
                  "DOMAIN.md §1: cut within 2 s; §3 ISA-18.2 starting delays (u)"),
    ),
)
