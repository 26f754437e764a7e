"""multi.multivariate: the PCA T²/Q unit model (detectors/rules/multivariate.py) as a rule of the detector stack.

A plant unit's sensors move together; a fault often shows first as one of them leaving the joint
pattern while every single reading is still inside its limits. This rule runs one
MultivariateDetector per configured group:

- **Rows.** At each frame step where at least one member has a fresh GOOD reading, the group forms one
  row of every member's latest good value; a member that did not report holds its last value, as the
  detector itself does. A row is *complete* when every member's last good reading is at most
  `stale_after_s` old (members on different devices report at different moments).
- **Online calibration.** The first `fit_samples` complete rows (at or after the group's `calibration_start`,
  when the config sets one: a known-normal stretch apart from what is judged) are the calibration window; the
  model is fitted once when the window is full, its limits set for the group's `target_false_alarm_rate`.
  Nothing is emitted before the fit: an unfitted unit has no notion of normal.
- **Gaps.** A member held for longer than `stale_after_s` (offline, in calibration, faulty) leaves the
  others moving against a frozen value, which is a broken pattern the plant did not make. So the alarm
  is only *judged* on complete rows that follow enough complete rows for the smoothing to forget the
  held value; in between it stays as it was. A calibration session never raises it.
- **Alarm.** After the fit every row is scored; the detector's k-of-n persistence raises. Its own
  off-delay counts rows (5 rows: 10 s at 2 s polling), while a drifting member hovers around the margin for minutes,
  so the rule adds a clock off-delay (`off_delay_s`, ISA-18.2's 60 s for temperature): one raise and
  one clear per episode. The alarm is the unit's own, on the group's slot (the registry gives each group
  one, shown under the group's id, name and area; priority medium, level 1 `unit_abnormal`, category
  process, `extra["unit"]` = the group's name): no member's health alarm withdraws it or is read as it.
- **Member health.** The stack tells the rule about its members' health conditions (`member_health`):
  a member with an active health alarm (stuck, offline, fault, …) is left out and the model refitted on
  the others' calibration rows; an alarm already shown says who was left out; the member rejoins when
  its health clears.

Rows per batch are few per group, so groups are a plain loop; inside a group everything is numpy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import NEVER, Frame, Series
from detectors.engine.rule import Rule
from detectors.engine.setup import Setup
from detectors.rules.health import offline_after_s
from detectors.rules.multivariate import DEFAULT_TARGET_FALSE_ALARM_RATE, MultivariateDetector, MultivariateParams
from hazwatch.config.detection import MultivariateGroup
from hazwatch.config.kinds import SensorKind
from hazwatch.config.registry import SensorInfo

MULTIVARIATE = "multi.multivariate"
LEVEL_NAME = "unit_abnormal"
PRIORITY = "medium"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MultivariateSpec:
    name: str
    slot: int
    """The group's own slot, where its alarm is shown (SensorRegistry.unit_slot): never a member's."""
    members: tuple[int, ...]
    """Slots of the group's sensors, in the group's order."""
    fit_samples: int = 400
    rate_channels: tuple[int, ...] = ()
    """Positions in `members` of slow thermal states that enter as their rate of change (temperatures)."""
    labels: tuple[str, ...] = ()
    """How messages name each member, e.g. 'temperature at R101-TT-A'; defaults to the slot numbers."""
    target_false_alarm_rate: float | None = None
    """Share of normal rows over the alarm threshold the limits are set for; None: the detector's default."""
    calibration_start_ns: int | None = None
    """Calibration rows are taken at or after this time; None: from the first complete row."""
    off_delay_s: float = 60.0
    """The alarm clears only after the detector has been under its margin this long."""
    stale_after_s: float = 30.0
    """A member whose last good reading is older than this is held, not trusted (its offline time)."""


class _Unit:
    """One group's state: its detector, the calibration rows collected so far, the alarm shown."""

    def __init__(self, spec: MultivariateSpec, params: MultivariateParams) -> None:
        self.spec = spec
        self.members = np.asarray(spec.members, dtype=np.int64)
        if spec.target_false_alarm_rate is not None:
            params = dataclasses.replace(params, target_false_alarm_rate=spec.target_false_alarm_rate)
        self.detector = MultivariateDetector(dataclasses.replace(params, rate_channels=spec.rate_channels))
        self.calibration = np.empty((spec.fit_samples, len(spec.members)))
        self.collected = 0
        self.last = np.full(len(spec.members), np.nan)
        self.last_ns = np.full(len(spec.members), NEVER, dtype=np.int64)
        self.stale_ns = int(spec.stale_after_s * 1e9)
        self.settle_rows = params.on_window + math.ceil(
            3 / (min(params.level_alpha, params.rate_alpha) if spec.rate_channels else params.level_alpha)
        )
        self.rows_since_gap = self.settle_rows + 1
        self.alarm = False
        self.last_over_ns = NEVER
        """Time of the newest row that keeps the alarm (detector persistence, or a score over the limit while the
        alarm is shown): the off-delay runs from it."""
        self.params = params
        self.fit_rows = np.empty((0, len(spec.members)))
        self.unhealthy: dict[int, set[str]] = {}
        """Member position → the health rules holding it out of the model."""
        self.keep = np.arange(len(spec.members))
        """Positions of the members the model judges with (all, unless a member's health alarm is active)."""

    def refit(self) -> bool:
        """Fit the model on the calibration rows of the healthy members; False when too few are left to judge."""
        keep = np.array([i for i in range(len(self.members)) if not self.unhealthy.get(i)], dtype=np.int64)
        self.keep = keep
        if len(keep) < 2:
            return False
        rates = tuple(int(np.flatnonzero(keep == c)[0]) for c in self.spec.rate_channels if c in keep)
        self.detector = MultivariateDetector(dataclasses.replace(self.params, rate_channels=rates))
        self.detector.fit(self.fit_rows[:, keep])
        self.rows_since_gap = 0
        return True

    def left_out(self) -> list[str]:
        labels = self.spec.labels or tuple(map(str, self.spec.members))
        return [f"{labels[i]} ({', '.join(sorted(rules))})" for i, rules in sorted(self.unhealthy.items()) if rules]

    @property
    def fitted(self) -> bool:
        return self.collected >= self.spec.fit_samples


class MultivariateRule(Rule):
    """One unit model per group; groups are validated here so a bad one fails when the stack is built."""

    def __init__(
        self, n_slots: int, groups: Sequence[MultivariateSpec], params: MultivariateParams | None = None
    ) -> None:
        self.n_slots = n_slots
        params = params or MultivariateParams()
        for spec in groups:
            _validate(spec, n_slots, params)
        self.units = [_Unit(spec, params) for spec in groups]
        self._column = np.full(n_slots, -1, dtype=np.int32)

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        if not self.units:
            return []
        self._column[series.slots] = np.arange(len(series.slots))
        try:
            changes: list[ConditionChange] = []
            for unit in self.units:
                changes += self._update_unit(unit, series)
            return changes
        finally:
            self._column[series.slots] = -1

    def _update_unit(self, unit: _Unit, series: Series) -> list[ConditionChange]:
        columns = self._column[unit.members]
        present = columns >= 0
        if not present.any():
            return []
        pick = np.maximum(columns, 0)
        value = np.where(present, series.value[:, pick], unit.last)
        good_ns = np.where(present, series.time[:, pick], unit.last_ns)
        fresh = present & ~np.isnan(value)
        if series.fresh is not None:
            fresh &= series.fresh[:, pick]
        reported = fresh.any(axis=1)
        if not reported.any():
            return []
        rows, good_ns, fresh = value[reported], good_ns[reported], fresh[reported]
        time = np.where(fresh, good_ns, NEVER).max(axis=1)
        judged = unit.keep if unit.fitted else np.arange(len(unit.members))
        complete = ((time[:, None] - good_ns[:, judged]) <= unit.stale_ns).all(axis=1)
        unit.last, unit.last_ns = rows[-1].copy(), good_ns[-1].copy()

        start = 0
        if not unit.fitted:
            start = self._calibrate(unit, rows, complete, time)
            if start == len(rows):
                return []
        if len(unit.keep) < 2:
            return []
        score, over = unit.detector.update(rows[start:, unit.keep])
        return self._changes(unit, score, over, time[start:], complete[start:])

    def member_health(self, change: ConditionChange) -> list[ConditionChange]:
        """A member's health alarm takes it out of its units' models (refitted without it) until it clears.

        The unit's alarm is the unit's: it is neither withdrawn nor cleared by the member's trouble. While
        the smaller model settles the alarm holds as it was; a unit alarm already shown says who was left out.
        """
        out: list[ConditionChange] = []
        for unit in self.units:
            positions = np.flatnonzero(unit.members == change.slot)
            if not len(positions):
                continue
            held = unit.unhealthy.setdefault(int(positions[0]), set())
            before = bool(held)
            (held.add if change.level > 0 else held.discard)(change.rule)
            if bool(held) == before or not unit.fitted:
                continue
            unit.refit()
            if unit.alarm:
                out.append(self._unit_change(unit, True, float("nan"), change.time_ns, updated=True))
        return out

    @staticmethod
    def _calibrate(unit: _Unit, rows: np.ndarray, complete: np.ndarray, time: np.ndarray) -> int:
        """Collects complete rows; fits when the window is full. Returns the index of the first row to score."""
        need = unit.spec.fit_samples - unit.collected
        start_ns = unit.spec.calibration_start_ns
        usable = np.flatnonzero(complete if start_ns is None else complete & (time >= start_ns))[:need]
        unit.calibration[unit.collected : unit.collected + len(usable)] = rows[usable]
        unit.collected += len(usable)
        if not unit.fitted:
            return len(rows)
        unit.fit_rows = unit.calibration
        unit.calibration = np.empty((0, len(unit.members)))
        unit.refit()
        return int(usable[-1]) + 1

    @staticmethod
    def _changes(
        unit: _Unit, score: np.ndarray, over: np.ndarray, time: np.ndarray, complete: np.ndarray
    ) -> list[ConditionChange]:
        """The shown alarm: judged only on rows the model can trust, raised at once, cleared after the off-delay.

        A row is trusted when every member is fresh and has been for `settle_rows` rows: a member back from a
        gap rejoins through the detector's smoothing, which needs that long to forget the held value.
        Untrusted rows keep the alarm as it was: the unit model cannot judge, so it neither raises nor clears.
        Only the detector's persistence raises; once shown, any row over the limit restarts the off-delay, so
        a score hovering around the limit during a fault never clears the alarm with the score still over it.
        """
        index = np.arange(len(over))
        last_gap = np.maximum.accumulate(np.where(complete, -1, index))
        since_gap = np.where(last_gap >= 0, index - last_gap, unit.rows_since_gap + index + 1)
        unit.rows_since_gap = int(since_gap[-1])
        trusted = since_gap > unit.settle_rows
        over = over & trusted
        holds = trusted & (over | (score > 1.0))
        hold_ns = np.where(holds, time, NEVER)
        hold_ns[0] = max(hold_ns[0], unit.last_over_ns)
        last_hold_ns = np.maximum.accumulate(hold_ns)
        unit.last_over_ns = int(last_hold_ns[-1])
        expired = trusted & (time - last_hold_ns >= unit.spec.off_delay_s * 1e9)
        was_on, was_off = (-1, -2) if unit.alarm else (-2, -1)
        last_on = np.maximum(np.maximum.accumulate(np.where(over, index, -2)), was_on)
        last_off = np.maximum(np.maximum.accumulate(np.where(expired, index, -2)), was_off)
        alarm = last_on > last_off
        if unit.alarm and len(unit.keep) < len(unit.members):
            # Without a member the model cannot vouch for the unit being normal: no all-clear until it is back.
            alarm = np.ones_like(alarm)

        flips = np.flatnonzero(alarm != np.concatenate(([unit.alarm], alarm[:-1])))
        out = [
            MultivariateRule._unit_change(unit, bool(alarm[i]), float(score[i]), int(time[i])) for i in flips.tolist()
        ]
        unit.alarm = bool(alarm[-1])
        return out

    @staticmethod
    def _unit_change(unit: _Unit, active: bool, score: float, time_ns: int, updated: bool = False) -> ConditionChange:
        """The unit's condition, on the group's own slot (`extra["unit"]` names the group)."""
        spec = unit.spec
        rate = unit.detector.params.target_false_alarm_rate
        left_out = unit.left_out()
        name = f"{spec.name} (without {', '.join(left_out)})" if left_out else spec.name
        if updated:
            message = f"{name}: sensors no longer move together; model refitted on the healthy members"
        elif active:
            message = (
                f"{name}: sensors no longer move together (score {score:.3g} × the limit set for {rate:.2g} "
                "of normal rows over it)"
            )
        else:
            message = f"{name}: sensors move together again (score {score:.3g} × the limit)"
        return ConditionChange(
            slot=spec.slot,
            rule=MULTIVARIATE,
            category="process",
            level=int(active),
            level_name=LEVEL_NAME if active else "normal",
            priority=PRIORITY,
            value=score,
            limit=1.0,
            time_ns=time_ns,
            message=message,
            extra={
                "unit": spec.name,
                "group": spec.name,
                "members": list(spec.labels or map(str, spec.members)),
                "left_out": left_out,
            },
        )


def _validate(spec: MultivariateSpec, n_slots: int, params: MultivariateParams) -> None:
    """Bad groups fail at build time with the group's name, not on the first batch hours later."""
    m = len(spec.members)
    if m < 2 or len(set(spec.members)) != m:
        raise ValueError(f"multivariate group {spec.name!r} needs at least two distinct sensors")
    if any(not 0 <= slot < n_slots for slot in spec.members):
        raise ValueError(f"multivariate group {spec.name!r} refers to a slot outside 0..{n_slots - 1}")
    if spec.slot < 0 or spec.slot in spec.members:
        raise ValueError(f"multivariate group {spec.name!r}: its alarm needs a slot of its own, not a member's")
    if any(not 0 <= c < m for c in spec.rate_channels):
        raise ValueError(f"multivariate group {spec.name!r}: rate_channels outside 0..{m - 1}")
    if spec.off_delay_s < 0 or spec.stale_after_s <= 0:
        raise ValueError(f"multivariate group {spec.name!r}: need off_delay_s >= 0 and stale_after_s > 0")
    if spec.labels and len(spec.labels) != m:
        raise ValueError(f"multivariate group {spec.name!r}: one label per member")
    least = params.warmup_rows + 2 * m
    if spec.fit_samples < least:
        raise ValueError(
            f"multivariate group {spec.name!r}: fit_samples must be at least {least} for {m} sensors "
            f"({params.warmup_rows} warm-up rows + 2 per sensor), got {spec.fit_samples}"
        )


# ---- from the site config ----------------------------------------------------------------------------


def held_after_s(info: SensorInfo) -> float:
    """A unit-model member counts as held once the health rule would call it offline (3 polls if that is off)."""
    after = offline_after_s(info)
    return after if math.isfinite(after) else 3 * info.poll_interval


def multivariate_specs(setup: Setup) -> list[MultivariateSpec]:
    """Temperatures enter as rates: a unit warms for minutes after start-up, so its temperature level soon
    leaves any calibration window while its rate stays comparable (docs/evaluation.md)."""
    registry = setup.registry
    specs: list[MultivariateSpec] = []
    labels = setup.labels
    for site in setup.config.sites:
        for group in site.groups:
            if not isinstance(group, MultivariateGroup):
                continue
            members = []
            for ref in group.sensors:
                found = registry.slot(site.id, ref)
                if found is None:
                    raise ValueError(f"group refers to unknown sensor {site.id}/{ref}")
                members.append(found)
            unit_slot = registry.slot(site.id, group.unit_id)
            if unit_slot is None or unit_slot < len(registry):
                raise ValueError(f"group {group.name!r} has no unit slot of its own in the registry")
            specs.append(
                MultivariateSpec(
                    name=group.name,
                    slot=unit_slot,
                    members=tuple(members),
                    fit_samples=group.fit_samples,
                    rate_channels=tuple(
                        i for i, slot in enumerate(members) if registry.sensors[slot].kind is SensorKind.TEMPERATURE
                    ),
                    labels=tuple(labels[slot] for slot in members),
                    stale_after_s=max(held_after_s(registry.sensors[slot]) for slot in members),
                    target_false_alarm_rate=group.target_false_alarm_rate,
                    calibration_start_ns=None
                    if group.calibration_start is None
                    else (group.calibration_start - EPOCH) // timedelta(microseconds=1) * 1000,
                )
            )
    return specs


RULE = RuleDeclaration(
    name="multivariate",
    phase=Phase.GROUP,
    build=lambda setup: MultivariateRule(len(setup.registry), multivariate_specs(setup)),
    parameters=(
        Parameter("fit_samples", "400", "rows", "engineering choice, measured on SKAB (docs/evaluation.md)"),
        Parameter("target_false_alarm_rate", f"{DEFAULT_TARGET_FALSE_ALARM_RATE:g}", "share of normal rows",
                  "alarm budget: ~9 over-limit rows per unit-day at 1 Hz (docs/detectors.md has SKAB at other rates)"),
        Parameter("limits", "max(F / Jackson–Mudholkar control limit, empirical calibration quantile)", "score",
                  "Tracy, Young & Mason 1992; Jackson & Mudholkar 1979"),
        Parameter("persistence", "5 of 10 rows on, 5 off", "rows", "engineering choice, measured on SKAB"),
        Parameter("off_delay_s", "60", "s", "ISA-18.2 starting delay for temperature (DOMAIN.md §3, u)"),
        Parameter("stale_after_s", "the slowest member's offline time", "s", "engineering choice"),
    ),
)
