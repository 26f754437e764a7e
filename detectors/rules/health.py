"""Sensor-health rules: silence, device faults, calibration, out of range, stuck, spikes and airflow disagreement.

Silence is a fault (DESIGN.md): a sensor that stops reporting, reads outside its physical range or sticks
at one value raises a health alarm, and most health alarms hold off the sensor's process alarms (the
`suppresses` field) because its readings no longer describe the atmosphere. Two deliberate exceptions,
for safety: a gas reading *above* its range is taken as real (an outburst saturates the sensor), so it
never suppresses; and a spike does not suppress, because the methane cut must never wait for a verdict
on whether the reading was interference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import NEVER, PAD, Frame, Series
from detectors.engine.rule import Rule
from detectors.engine.scan import changed_cells, last_decision
from detectors.engine.setup import Setup
from hazwatch.config.detection import DetectionSettings
from hazwatch.config.kinds import BINARY_KINDS, GAS_KINDS, SensorKind
from hazwatch.config.limits import first_high_limit
from hazwatch.config.registry import SensorInfo
from hazwatch.quality import Quality

OFFLINE = "health.offline"
DEVICE_OFFLINE = "health.device_offline"
FAULT = "health.fault"
CALIBRATION = "health.calibration"
RANGE = "health.range"
OVERRANGE = "health.overrange"
STUCK = "health.stuck"
SPIKE = "health.spike"
DISAGREEMENT = "health.disagreement"


ANALOG_KINDS: frozenset[SensorKind] = frozenset(SensorKind) - BINARY_KINDS - {SensorKind.GENERIC}
"""Physical analog kinds; a generic signal makes no physical assumption, so it gets no spike or stuck default."""

STUCK_AFTER_S: dict[SensorKind, float] = {
    **dict.fromkeys(ANALOG_KINDS, 3600.0),
    SensorKind.AIR_VELOCITY: 1800.0,
}
"""Flat-line time that makes a sensor stuck (engineering choice; binary kinds never get stuck alarms)."""

SPIKE_JUMP_FRACTION = 0.5
"""A 1–2 reading jump of half the range and back is interference, not atmosphere (DOMAIN.md §4)."""

SPIKE_HOLD_S = 300.0
"""A spike alarm stays this long after the last spike, so repeated interference is one alarm."""

ZERO_BAND_FRACTION = 0.0025
"""'Reads zero' for the tampering check: within 0.25 % of the range (0.01 % on a 0–4 % CH4 head)."""


@dataclass(frozen=True)
class HealthParams:
    """Per-slot arrays (length = number of slots); 0 / NaN switches a rule off for a slot."""

    range_min: np.ndarray
    range_max: np.ndarray
    range_margin: np.ndarray
    """Tolerance outside the range before it counts (zero drift, span error)."""
    overrange_is_fault: np.ndarray
    """False for gas kinds: over range is real gas, not a broken sensor."""
    stuck_after_s: np.ndarray
    stuck_tolerance: np.ndarray
    spike_jump: np.ndarray
    """A step at least this large, up and back down within two readings, is a spike (NaN: off)."""
    spike_hold_s: np.ndarray
    offline_after_s: np.ndarray
    device: np.ndarray
    """Device index per slot, -1 when the slot has no device."""
    device_names: Sequence[str] = ()
    airflow_paths: Sequence[Sequence[int]] = ()
    path_alarm: np.ndarray | None = None
    """Value at which a path member counts as alarming (its first high limit)."""
    zero_band: np.ndarray | None = None
    """A reading within this of 0 counts as 'reads zero' for the tampering check."""
    long_offline_after_s: np.ndarray | None = None
    """Silent this long escalates offline to level 2 ('long offline', what a safety bureau is sent)."""


_PRIORITY = {
    OFFLINE: "high",
    DEVICE_OFFLINE: "high",
    FAULT: "high",
    CALIBRATION: "low",
    RANGE: "medium",
    OVERRANGE: "high",
    STUCK: "medium",
    SPIKE: "low",
    DISAGREEMENT: "high",
}


class HealthDetector(Rule):
    """Emits health.* condition changes (category 'health')."""

    def __init__(self, params: HealthParams, labels: Sequence[str], units: Sequence[str] | None = None) -> None:
        p = params
        n = len(labels)
        self.n_slots = n
        # Only the parameters read while running are kept; those turned into the arrays below are not (at
        # province scale each per-slot array is 8 B per sensor).
        self.device = p.device.astype(np.int32)
        """Device index per slot, -1 when the slot has no device."""
        self.device_names = p.device_names
        self.stuck_tolerance = p.stuck_tolerance
        self.spike_jump = p.spike_jump
        self.airflow_paths = p.airflow_paths
        self.path_alarm = p.path_alarm
        self.zero_band = p.zero_band
        self.overrange_is_fault = p.overrange_is_fault
        self.labels = labels
        self.units = units if units is not None else [""] * n
        self.low = p.range_min - p.range_margin
        self.high = p.range_max + p.range_margin
        self.stuck_ns = np.where(np.isfinite(p.stuck_after_s), p.stuck_after_s * 1e9, 0).astype(np.int64)
        self.spike_on = np.isfinite(p.spike_jump) & (p.spike_jump > 0)
        self.stuck_on = self.stuck_ns > 0
        self.spike_hold_ns = (p.spike_hold_s * 1e9).astype(np.int64)
        offline_ns = np.where(np.isfinite(p.offline_after_s), p.offline_after_s * 1e9, 0).astype(np.int64)
        self.silent_after_ns = np.where(offline_ns > 0, offline_ns, np.iinfo(np.int64).max)
        """The dead-man time, 'never' where it is off: one comparison per tick."""
        long_s = p.long_offline_after_s if p.long_offline_after_s is not None else np.full(n, np.inf)
        self.long_offline_ns = np.where(np.isfinite(long_s), long_s * 1e9, np.iinfo(np.int64).max).astype(np.int64)
        self.level = {rule: np.zeros(n, dtype=np.int8) for rule in _PRIORITY}
        self.last_change = np.full(n, NEVER, dtype=np.int64)
        self.last_spike = np.full(n, NEVER, dtype=np.int64)
        self.history = np.full((3, n), np.nan)
        """The last three readings per slot, oldest first (rows), so a span of slots is three contiguous runs."""
        self.last_time = np.full(n, NEVER, dtype=np.int64)
        self.last_alive = np.full(n, NEVER, dtype=np.int64)
        self.started_ns: int | None = None
        self.ticked_ns: int | None = None
        """The dead-man's clock at its last tick: readings stamped longer ago than the offline time before it are
        late (a backlog being caught up), and do not clear an offline alarm the next tick would raise again."""
        self.n_devices = len(p.device_names)
        has_device = p.device >= 0
        self.device_size = np.bincount(p.device[has_device], minlength=self.n_devices)
        # Each device's slots, in slot order, as one array cut by offsets (not an array per device: ~40 B a
        # sensor at province scale, and a pass over every slot per device to build)
        self.device_slots = np.flatnonzero(has_device)[np.argsort(p.device[has_device], kind="stable")]
        self.device_start = np.concatenate([[0], np.cumsum(self.device_size)]).astype(np.int64)
        self.device_first = np.where(
            self.device_size > 0, self.device_slots[np.minimum(self.device_start[:-1], len(self.device_slots) - 1)], -1
        )
        self.device_level = np.zeros(self.n_devices, dtype=np.int8)
        self.path_member = np.array([s for path in p.airflow_paths for s in path], dtype=np.int64)
        self.path_of = np.array([i for i, path in enumerate(p.airflow_paths) for _ in path], dtype=np.int64)
        self.path_level = np.zeros(len(self.path_member), dtype=np.int8)
        self.in_path = np.zeros(n, dtype=bool)
        self.in_path[self.path_member] = True

    # ---- per-reading rules -------------------------------------------------------------------------

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        changes: list[ConditionChange] = []
        changes += self._alive(frame)
        changes += self._quality_state(frame, Quality.FAULT, FAULT)
        changes += self._quality_state(frame, Quality.CALIBRATION, CALIBRATION)
        changes += self._range(series)
        step = self._steps(series)
        changes += self._stuck(series, step)
        changes += self._spikes(series, step)
        self._remember(frame, series)
        if self.in_path[frame.index].any():
            changes += self._disagreement()
        return changes

    def _steps(self, series: Series) -> tuple[np.ndarray, np.ndarray]:
        """(previous value, |step| from it) per cell, the previous of the first row from the history."""
        v = series.value
        newest = self.history[-1, series.index][None, :]
        previous = newest if len(v) == 1 else np.concatenate([newest, v[:-1]])
        return previous, np.abs(v - previous)

    def _alive(self, frame: Frame) -> list[ConditionChange]:
        """Any reading that is not OFFLINE proves the link is up: it clears offline at its time, once the
        sensor's newest reading is within its offline time of the dead-man's clock."""
        cols, at = frame.slots, frame.index
        if frame.all_good:
            first_alive = frame.time[0]
            self.last_alive[at] = np.maximum(self.last_alive[at], frame.time[-1])
            seen = np.ones(len(cols), dtype=bool)
        else:
            alive = (frame.quality != Quality.OFFLINE) & (frame.quality != PAD)
            seen = alive.any(axis=0)
            big = np.iinfo(np.int64).max
            first_alive = np.where(alive, frame.time, big).min(axis=0)
            newest = np.where(alive, frame.time, NEVER).max(axis=0)
            self.last_alive[at] = np.maximum(self.last_alive[at], newest)
        if self.ticked_ns is not None:
            seen &= self.ticked_ns - self.last_alive[at] <= self.silent_after_ns[at]
        changes = []
        back = seen & (self.level[OFFLINE][at] > 0)
        for c in np.flatnonzero(back).tolist():
            slot = int(cols[c])
            changes.append(self._change(OFFLINE, slot, 0, int(first_alive[c]), (slot,)))
        if self.n_devices and self.device_level.any():
            devices = self.device[at]
            up = seen & (devices >= 0)
            up[up] = self.device_level[devices[up]] > 0
            if up.any():
                for d in np.unique(devices[up]).tolist():
                    if self.device_level[d]:
                        when = int(first_alive[up & (devices == d)].min())
                        changes.append(self._device_change(d, 0, when))
        return changes

    def _quality_state(self, frame: Frame, code: Quality, rule: str) -> list[ConditionChange]:
        """Active from a reading flagged `code` until the next GOOD reading."""
        cols = frame.slots
        level = self.level[rule]
        busy = level[frame.index] > 0
        if not frame.all_good:
            busy |= (frame.quality == code).any(axis=0)
        if not busy.any():
            return []
        picked = np.flatnonzero(busy)
        slots = cols[picked]
        q = frame.quality[:, picked]
        flagged = q == code
        state = last_decision(flagged | (q == Quality.GOOD), flagged, level[slots] > 0).astype(np.int8)
        return self._emit(rule, slots, state, frame.value[:, picked], frame.time[:, picked])

    def _range(self, series: Series) -> list[ConditionChange]:
        cols, at = series.slots, series.index
        v = series.value
        below = v < self.low[at]
        above = v > self.high[at]
        out = below | above
        if not out.any() and not self.level[RANGE][at].any() and not self.level[OVERRANGE][at].any():
            return []
        busy = out.any(axis=0) | (self.level[RANGE][at] > 0) | (self.level[OVERRANGE][at] > 0)
        picked = np.flatnonzero(busy)
        slots = cols[picked]
        vb, tb = v[:, picked], series.time[:, picked]
        changes = self._emit(RANGE, slots, below[:, picked].astype(np.int8), vb, tb)
        changes += self._emit(OVERRANGE, slots, above[:, picked].astype(np.int8), vb, tb)
        return changes

    def _stuck(self, series: Series, step: tuple[np.ndarray, np.ndarray]) -> list[ConditionChange]:
        cols, at = series.slots, series.index
        v = series.value
        previous, size = step
        moved = size > self.stuck_tolerance[at]
        moved |= np.isnan(previous)
        everywhere = moved.all(axis=0)
        busy = self.stuck_on[at] & (~everywhere | (self.level[STUCK][at] > 0))
        if isinstance(at, slice):
            np.copyto(self.last_change[at], series.time[-1], where=everywhere)
        else:
            self.last_change[cols[everywhere]] = series.time[-1, everywhere]
        if not busy.any():
            return []
        picked = np.flatnonzero(busy)
        slots = cols[picked]
        t = series.time[:, picked]
        changed_at = last_decision(moved[:, picked], t, self.last_change[slots])
        self.last_change[slots] = changed_at[-1]
        stuck = ((t - changed_at) >= self.stuck_ns[slots]) & ~np.isnan(v[:, picked])
        return self._emit(STUCK, slots, stuck.astype(np.int8), v[:, picked], t)

    def _spikes(self, series: Series, step: tuple[np.ndarray, np.ndarray]) -> list[ConditionChange]:
        """A jump of at least `spike_jump` lasting one or two readings, with the readings either side agreeing."""
        cols, at = series.slots, series.index
        jump = self.spike_jump[at]
        v = series.value
        big = step[1] >= jump
        busy = self.spike_on[at] & (big.any(axis=0) | (self.level[SPIKE][at] > 0))
        if not busy.any():
            return []
        picked = np.flatnonzero(busy)
        slots = cols[picked]
        j = jump[picked]
        x = np.concatenate([self.history[:, slots], v[:, picked]])
        after, one, before1 = x[3:], x[2:-1], x[1:-2]
        two, before2 = x[1:-2], x[:-3]
        steady = np.abs(after - before1) < j / 2
        spike1 = steady & (np.abs(one - before1) >= j) & (np.abs(one - after) >= j)
        steady2 = np.abs(after - before2) < j / 2
        spike2 = (
            steady2
            & (np.abs(one - before2) >= j)
            & (np.abs(two - before2) >= j)
            & (np.abs(one - after) >= j)
            & (np.abs(two - after) >= j)
        )
        t = series.time[:, picked]
        seen = spike1 | spike2
        last = last_decision(seen, t, self.last_spike[slots])
        self.last_spike[slots] = last[-1]
        expired = (t - last) >= self.spike_hold_ns[slots]
        state = last_decision(seen | expired, seen, self.level[SPIKE][slots] > 0).astype(np.int8)
        return self._emit(SPIKE, slots, state, v[:, picked], t)

    def _remember(self, frame: Frame, series: Series) -> None:
        """The last three readings per slot, for spike windows that straddle batches.

        Padding cells (which exist only when readings of many steps come at once) are skipped, so the
        history is the same whatever the batching.
        """
        cols, at = series.slots, series.index
        stacked = np.concatenate([self.history[:, at], series.value])
        if frame.all_good:
            self.history[:, at] = stacked[-3:]
        else:
            real = np.concatenate([np.ones((3, len(cols)), dtype=bool), frame.quality != PAD])
            rows = np.arange(len(real))[:, None]
            for k in (2, 1, 0):
                last = np.where(real, rows, -1).max(axis=0)
                self.history[k, at] = stacked[last, np.arange(len(cols))]
                real[last, np.arange(len(cols))] = False
        self.last_time[at] = series.time[-1]

    def _disagreement(self) -> list[ConditionChange]:
        """A path member reading zero while a neighbour on the same airflow path is in alarm: tampering."""
        members = self.path_member
        value = self.history[-1, members]
        alarming = value >= self.path_alarm[members]
        count = np.bincount(self.path_of, weights=alarming, minlength=len(self.airflow_paths))
        zero = np.abs(value) <= self.zero_band[members]
        level = (zero & (count[self.path_of] > 0)).astype(np.int8)
        changed = np.flatnonzero(level != self.path_level)
        if not len(changed):
            return []
        newest = np.full(len(self.airflow_paths), NEVER, dtype=np.int64)
        np.maximum.at(newest, self.path_of, self.last_time[members])
        changes = []
        for i in changed.tolist():
            slot = int(members[i])
            changes.append(
                self._change(DISAGREEMENT, slot, int(level[i]), int(newest[self.path_of[i]]), (slot,), float(value[i]))
            )
        self.path_level = level
        return changes

    # ---- time-driven rules -------------------------------------------------------------------------

    def resumed(self, now_ns: int) -> None:
        """After a restart from a snapshot: the worker was away, not the sensors. Sensors not already offline get
        one dead-man interval from now for the readings queued in the broker to arrive, instead of all going
        offline at the first tick (an alarm storm); those already offline stay offline."""
        online = (self.level[OFFLINE] == 0) & (self.last_alive != NEVER)
        self.last_alive = np.where(online, np.maximum(self.last_alive, now_ns), self.last_alive)
        self.started_ns = now_ns

    def tick(self, now_ns: int) -> list[ConditionChange]:
        """The dead-man: silent for `offline_after_s` raises offline; a whole silent device raises one alarm."""
        if self.started_ns is None:
            self.started_ns = now_ns
        self.ticked_ns = now_ns
        alive_at = np.where(self.last_alive == NEVER, self.started_ns, self.last_alive)
        silent_ns = now_ns - alive_at
        silent = silent_ns > self.silent_after_ns
        if not silent.any() and not self.level[OFFLINE].any() and not self.device_level.any():
            return []
        silent_level = silent.astype(np.int8) + (silent & (silent_ns > self.long_offline_ns))
        changes = []
        device_level = np.zeros(self.n_devices, dtype=np.int8)
        if self.n_devices:
            has = self.device >= 0
            quiet = np.bincount(self.device[has & silent], minlength=self.n_devices)
            long_quiet = np.bincount(self.device[has & (silent_level == 2)], minlength=self.n_devices)
            all_quiet = (quiet == self.device_size) & (self.device_size > 0)
            device_level = all_quiet.astype(np.int8) + (all_quiet & (long_quiet == self.device_size))
            for d in np.flatnonzero(device_level != self.device_level).tolist():
                changes.append(self._device_change(d, int(device_level[d]), now_ns))
        covered = (self.device >= 0) & (device_level[np.maximum(self.device, 0)] > 0) if self.n_devices else False
        level = np.where(covered, 0, silent_level).astype(np.int8)
        for slot in np.flatnonzero(level != self.level[OFFLINE]).tolist():
            changes.append(self._change(OFFLINE, slot, int(level[slot]), now_ns, (slot,)))
        return changes

    # ---- emitting -----------------------------------------------------------------------------------

    def _emit(
        self, rule: str, slots: np.ndarray, state: np.ndarray, value: np.ndarray, time: np.ndarray
    ) -> list[ConditionChange]:
        rows, cols = changed_cells(state, self.level[rule][slots])
        changes = [
            self._change(rule, int(slots[c]), int(state[r, c]), int(time[r, c]), (int(slots[c]),), float(value[r, c]))
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
        ]
        self.level[rule][slots] = state[-1]
        return changes

    def _suppressing(self, rule: str, slot: int) -> bool:
        if rule == SPIKE:
            return False
        return not (rule == OVERRANGE and not self.overrange_is_fault[slot])

    def _change(
        self, rule: str, slot: int, level: int, time_ns: int, covers: tuple[int, ...], value: float = np.nan
    ) -> ConditionChange:
        self.level[rule][slot] = level
        if np.isnan(value):
            value = float(self.history[-1, slot])
        limit = self._limit(rule, slot)
        return ConditionChange(
            slot=slot,
            rule=rule,
            category="health",
            level=level,
            level_name=("long_offline" if rule == OFFLINE and level == 2 else rule.split(".")[1])
            if level
            else "normal",
            priority=_PRIORITY[rule],
            value=value,
            limit=limit,
            time_ns=time_ns,
            message=self._message(rule, slot, level, value, limit),
            extra={"out_of_service": True} if rule == CALIBRATION and level else {},
            suppresses=covers if level and self._suppressing(rule, slot) else (),
        )

    def _device_change(self, device: int, level: int, time_ns: int) -> ConditionChange:
        self.device_level[device] = level
        slot = int(self.device_first[device])
        name = self.device_names[device]
        members = tuple(self.device_slots[self.device_start[device] : self.device_start[device + 1]].tolist())
        message = (
            f"device {name} silent: all {len(members)} sensors{' (long offline)' if level == 2 else ''}"
            if level
            else f"device {name} reporting again"
        )
        return ConditionChange(
            slot=slot,
            rule=DEVICE_OFFLINE,
            category="health",
            level=level,
            level_name=("device_offline", "device_long_offline")[level - 1] if level else "normal",
            priority=_PRIORITY[DEVICE_OFFLINE],
            value=float("nan"),
            limit=self._offline_s(slot),
            time_ns=time_ns,
            message=message,
            extra={"device": name, "slots": list(members)},
            suppresses=members if level else (),
        )

    def _limit(self, rule: str, slot: int) -> float:
        return float(
            {
                OFFLINE: self._offline_s(slot),
                RANGE: self.low[slot],
                OVERRANGE: self.high[slot],
                STUCK: self.stuck_ns[slot] / 1e9,
                SPIKE: self.spike_jump[slot],
                DISAGREEMENT: self.zero_band[slot] if self.zero_band is not None else np.nan,
            }.get(rule, np.nan)
        )

    def _offline_s(self, slot: int) -> float:
        after = int(self.silent_after_ns[slot])
        return 0.0 if after == np.iinfo(np.int64).max else after / 1e9

    def _message(self, rule: str, slot: int, level: int, value: float, limit: float) -> str:
        label, unit = self.labels[slot], self.units[slot]
        if not level:
            return f"{label}: {rule.split('.')[1]} cleared"
        text = {
            OFFLINE: f"{label} silent for more than {limit:g} s ({'long offline' if level == 2 else 'offline'})",
            FAULT: f"{label} reports a sensor fault",
            CALIBRATION: f"{label} in calibration: readings recorded, not alarmed",
            RANGE: f"{label} reads {value:.4g} {unit}, below its physical range (fault)",
            OVERRANGE: f"{label} reads {value:.4g} {unit}, above its range",
            STUCK: f"{label} stuck at {value:.4g} {unit} for more than {limit:g} s",
            SPIKE: f"{label} spiked (1–2 readings) by more than {limit:g} {unit}: interference?",
            DISAGREEMENT: f"{label} reads {value:.4g} {unit} while a sensor on its airflow path is in alarm",
        }[rule]
        return " ".join(text.split())


# ---- from the site config ----------------------------------------------------------------------------


def offline_after_s(info: SensorInfo) -> float:
    """The dead-man time of a sensor (NaN when switched off); exposure and group rules reuse it as 'stale'."""
    return info.poll_interval * info.detect.offline_after_intervals if info.detect.wants("offline") else math.nan


def _stuck_after_s(s: SensorInfo) -> float:
    if not s.detect.wants("stuck") or (s.kind not in STUCK_AFTER_S and s.detect.stuck_after_s is None):
        return math.nan
    return s.detect.stuck_after_s or STUCK_AFTER_S[s.kind]


def _spike_jump(s: SensorInfo) -> float:
    wanted = s.detect.spikes if s.detect.spikes is not None else s.kind in ANALOG_KINDS
    if not wanted or not s.detect.wants("spikes") or not math.isfinite(s.range_max - s.range_min):
        return math.nan
    return (s.detect.spike_jump_fraction or SPIKE_JUMP_FRACTION) * (s.range_max - s.range_min)


def health_params(setup: Setup) -> HealthParams:
    registry, config = setup.registry, setup.config
    sensors = list(registry)
    span = registry.range_max - registry.range_min
    span = np.where(np.isfinite(span), span, 0.0)  # a generic sensor without a range: nothing scales with it
    devices: dict[tuple[str, str], int] = {}
    device_of = np.full(len(sensors), -1, dtype=np.int64)
    for s in sensors:
        if s.device is not None:
            device_of[s.slot] = devices.setdefault((s.site, s.device), len(devices))
    paths: list[list[int]] = []
    for site in config.sites:
        for area in site.areas:
            for path in area.airflow_paths:
                slots = [registry.slot(site.id, ref) for ref in path]
                paths.append([slot for slot in slots if slot is not None])
    in_range = np.array([s.detect.wants("range") for s in sensors], dtype=bool)
    return HealthParams(
        range_min=np.where(in_range, registry.range_min, -np.inf),
        range_max=np.where(in_range, registry.range_max, np.inf),
        range_margin=np.array([s.detect.range_margin_fraction for s in sensors]) * span,
        overrange_is_fault=np.array([s.kind not in GAS_KINDS for s in sensors], dtype=bool),
        stuck_after_s=np.array([_stuck_after_s(s) for s in sensors]),
        stuck_tolerance=np.zeros(len(sensors)),
        spike_jump=np.array([_spike_jump(s) for s in sensors]),
        spike_hold_s=np.full(len(sensors), SPIKE_HOLD_S),
        offline_after_s=np.array([offline_after_s(s) for s in sensors]),
        long_offline_after_s=np.array([s.detect.long_offline_after_s for s in sensors]),
        device=device_of,
        device_names=[f"{site}/{device}" for site, device in devices],
        airflow_paths=paths,
        path_alarm=np.array([first_high_limit(s.limits) for s in sensors]),
        zero_band=ZERO_BAND_FRACTION * span,
    )


RULE = RuleDeclaration(
    name="health",
    phase=Phase.HEALTH,
    build=lambda setup: HealthDetector(health_params(setup), setup.labels, setup.units),
    parameters=(
        Parameter.of(DetectionSettings, "offline_after_intervals", "poll intervals", "DOMAIN.md §3: offline is a "
                     "gap, never zero; engineering choice: three missed polls, so one lost packet is not an alarm"),
        Parameter.of(DetectionSettings, "long_offline_after_s", "s", "engineering choice: what a safety bureau is "
                     "sent"),
        Parameter.of(DetectionSettings, "range_margin_fraction", "fraction of range", "engineering choice: zero "
                     "drift and span error (DOMAIN.md §3 sensor specifications)"),
        Parameter("stuck_after_s", f"{STUCK_AFTER_S[SensorKind.CH4]:g}; air velocity "
                  f"{STUCK_AFTER_S[SensorKind.AIR_VELOCITY]:g}; binary kinds never", "s", "engineering choice "
                  "(DOMAIN.md §4: stuck value, incl. 0.00 tampering)"),
        Parameter("spike_jump_fraction", f"{SPIKE_JUMP_FRACTION:g} (analog kinds)", "fraction of range",
                  "DOMAIN.md §4: 1–2 sample spikes near full scale"),
        Parameter("spike_hold_s", f"{SPIKE_HOLD_S:g}", "s", "engineering choice: repeated interference is one alarm"),
        Parameter("zero_band", f"{ZERO_BAND_FRACTION * 100:g} % of the range", "sensor unit", "engineering choice: "
                  "0.01 % on a 0–4 % CH4 head, inside its ±0.10 error (DOMAIN.md §3); airflow-path tampering check "
                  "(DOMAIN.md §3)"),
    ),
)
