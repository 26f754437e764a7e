"""Multi-sensor rules: ventilation failure, reactor runaway, and 2-out-of-3 voting of redundant sensors.

Ventilation and runaway groups are evaluated after every round of 10 s block closes (see blocks.py) on
each member's newest slope (least squares over its block means), vectorised over all groups. Voting works
on the members' latest good readings, which different devices deliver at different moments, so it is
evaluated once per batch (`finish`).

- multi.ventilation (VentilationGroup): methane at a face rising while air velocity has fallen below a
  fraction of its learned baseline (DOMAIN.md §4: a stopped local fan makes CH4 climb ≈ +0.02 %/min).
  The velocity baseline is not learned while the group alarms or while velocity is low.
- multi.runaway (RunawayGroup): reactor temperature and pressure rising together faster than their rate
  limits (DOMAIN.md §4: normal |dT/dt| < 0.1 °C/min, 0.5 °C/min and more on cooling loss, pressure
  following vapour pressure). Catches a runaway minutes before the temperature limit.
- multi.vote (VoteGroup): the group's value is the median of three (2oo3); with one member stale it
  degrades to the higher of two (1oo2, fail-safe), with two stale to the remaining one (IEC 61511 practice).

Each group's alarm is on the group's own slot (SensorRegistry gives every group one, named by the group's
id, name and area), not on a member's: a member's health alarm must not withdraw a vote that exists to
survive one member failing, nor a runaway or ventilation alarm, and is never mistaken for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.blocks import BlockSeries, ols_slope
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import NEVER, Frame, Series
from detectors.engine.rule import Rule
from detectors.engine.setup import Setup
from detectors.rules.threshold import LevelSpec, level_specs
from hazwatch.config.detection import GroupIdentity, RunawayGroup, VentilationGroup, VoteGroup

VENTILATION = "multi.ventilation"
RUNAWAY = "multi.runaway"
VOTE = "multi.vote"

BLOCK_S = 10.0


@dataclass(frozen=True)
class VentilationSpec:
    name: str
    slot: int
    """The group's own slot: where its alarm is shown."""
    methane: int
    velocity: int
    methane_rate_per_min: float = 0.01
    velocity_drop_fraction: float = 0.2
    window_s: float = 120.0
    baseline_s: float = 1800.0


@dataclass(frozen=True)
class RunawaySpec:
    name: str
    slot: int
    temperature: int
    pressure: int
    pressure_span: float
    temperature_rate_per_min: float = 0.5
    pressure_rate_per_min: float = 0.5
    """Percent of the pressure sensor's range per minute."""
    window_s: float = 60.0


@dataclass(frozen=True)
class VoteSpec:
    name: str
    slot: int
    members: tuple[int, int, int]
    levels: Sequence[LevelSpec]
    stale_after_s: float = 30.0
    unit: str = ""


@dataclass(frozen=True)
class MultiParams:
    ventilation: Sequence[VentilationSpec] = ()
    runaway: Sequence[RunawaySpec] = ()
    vote: Sequence[VoteSpec] = field(default_factory=tuple)


class MultiSensorDetector(Rule):
    def __init__(self, n_slots: int, params: MultiParams) -> None:
        self.n_slots = n_slots
        self.p = params
        windows: dict[int, float] = {}
        for g in params.ventilation:
            windows[g.methane] = max(windows.get(g.methane, 0.0), g.window_s)
            windows[g.velocity] = max(windows.get(g.velocity, 0.0), g.window_s)
        for g in params.runaway:
            windows[g.temperature] = max(windows.get(g.temperature, 0.0), g.window_s)
            windows[g.pressure] = max(windows.get(g.pressure, 0.0), g.window_s)
        members = np.array(sorted(windows), dtype=np.int64)
        self.blocks = BlockSeries(n_slots, members, np.full(len(members), BLOCK_S), depth=16)
        self.slope_blocks = np.array(
            [min(16, max(3, round(windows[int(s)] / BLOCK_S))) for s in members], dtype=np.int64
        )
        self.slope = np.full(len(members), np.nan)
        self.latest_block = np.full(len(members), np.nan)
        self.velocity_baseline = np.full(len(members), np.nan)
        self.velocity_alpha = np.zeros(len(members))
        for g in params.ventilation:
            self.velocity_alpha[self.blocks.members.row[g.velocity]] = min(1.0, BLOCK_S / g.baseline_s)
        self.velocity_frozen = np.zeros(len(members), dtype=bool)
        row = self.blocks.members.row
        self.vent = SimpleNamespace(
            methane=row[[g.methane for g in params.ventilation]].astype(np.int64),
            velocity=row[[g.velocity for g in params.ventilation]].astype(np.int64),
            rate=np.array([g.methane_rate_per_min for g in params.ventilation]),
            drop=np.array([g.velocity_drop_fraction for g in params.ventilation]),
            level=np.zeros(len(params.ventilation), dtype=np.int8),
        )
        self.run = SimpleNamespace(
            temperature=row[[g.temperature for g in params.runaway]].astype(np.int64),
            pressure=row[[g.pressure for g in params.runaway]].astype(np.int64),
            span=np.array([g.pressure_span for g in params.runaway]),
            t_limit=np.array([g.temperature_rate_per_min for g in params.runaway]),
            p_limit=np.array([g.pressure_rate_per_min for g in params.runaway]),
            level=np.zeros(len(params.runaway), dtype=np.int8),
        )
        voters = sorted({slot for g in params.vote for slot in g.members})
        self.voter_row = np.full(n_slots if voters else 0, -1, dtype=np.int32)
        """Slot → row of the newest-reading arrays, which only voting groups' members have (-1: none)."""
        self.voter_row[voters] = np.arange(len(voters), dtype=np.int32)
        self.last_value = np.full(len(voters), np.nan)
        self.last_time = np.full(len(voters), NEVER, dtype=np.int64)
        self.levels: dict[tuple[str, int], int] = {}
        self.vote_raw = [np.zeros(len(g.levels), dtype=bool) for g in params.vote]

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        changes: list[ConditionChange] = []
        for rows, when in self.blocks.closes(series):
            times, means = self.blocks.window(rows, self.slope_blocks[rows])
            self.slope[rows] = ols_slope(times, means, min_points=3) * 60e9
            self.latest_block[rows] = means[:, -1]
            self._learn_velocity(rows, means[:, -1])
            now_ns = int(when.max())
            changes += self._ventilation(now_ns) + self._runaway(now_ns)
        if len(self.voter_row):
            rows = self.voter_row[series.slots]
            voting = rows >= 0
            self.last_value[rows[voting]] = series.value[-1, voting]
            self.last_time[rows[voting]] = series.time[-1, voting]
        return changes

    def _learn_velocity(self, rows: np.ndarray, x: np.ndarray) -> None:
        alpha = self.velocity_alpha[rows]
        learn = (alpha > 0) & ~self.velocity_frozen[rows] & ~np.isnan(x)
        rows, x, alpha = rows[learn], x[learn], alpha[learn]
        base = self.velocity_baseline[rows]
        self.velocity_baseline[rows] = np.where(np.isnan(base), x, base + alpha * (x - np.nan_to_num(base)))

    def finish(self, now_ns: int) -> list[ConditionChange]:
        return self._vote(now_ns)

    def _ventilation(self, now_ns: int) -> list[ConditionChange]:
        """Evaluated after every round of block closes, vectorised over all ventilation groups."""
        g = self.vent
        if not len(g.level):
            return []
        rate = self.slope[g.methane]
        velocity = self.latest_block[g.velocity]
        baseline = self.velocity_baseline[g.velocity]
        low = velocity <= (1 - g.drop) * baseline
        recovered = velocity >= (1 - g.drop / 2) * baseline
        level = np.where((rate >= g.rate) & low, 1, np.where((rate < g.rate / 2) | recovered, 0, g.level))
        self.velocity_frozen[g.velocity] = (level > 0) | low
        out = []
        for i in np.flatnonzero(level != g.level).tolist():
            spec = self.p.ventilation[i]
            message = (
                f"{spec.name}: CH4 rising {rate[i]:.3g} %/min while air velocity fell to {velocity[i]:.3g} m/s "
                f"(baseline {baseline[i]:.3g} m/s): ventilation failure?"
                if level[i]
                else f"{spec.name}: ventilation back to normal"
            )
            out.append(
                self._change(
                    VENTILATION, spec.slot, int(level[i]), "critical", rate[i], g.rate[i], now_ns, message, spec.name
                )
            )
        g.level[:] = level
        return out

    def _runaway(self, now_ns: int) -> list[ConditionChange]:
        g = self.run
        if not len(g.level):
            return []
        t_rate = self.slope[g.temperature]
        p_rate = self.slope[g.pressure] / g.span * 100
        rising = (t_rate >= g.t_limit) & (p_rate >= g.p_limit)
        easing = (t_rate < g.t_limit / 2) | (p_rate < g.p_limit / 2)
        level = np.where(rising, 1, np.where(easing, 0, g.level))
        out = []
        for i in np.flatnonzero(level != g.level).tolist():
            spec = self.p.runaway[i]
            message = (
                f"{spec.name}: temperature rising {t_rate[i]:.3g} °C/min and pressure {p_rate[i]:.3g} %/min "
                "together: runaway?"
                if level[i]
                else f"{spec.name}: temperature and pressure no longer rising together"
            )
            out.append(
                self._change(
                    RUNAWAY,
                    spec.slot,
                    int(level[i]),
                    "critical",
                    t_rate[i],
                    g.t_limit[i],
                    now_ns,
                    message,
                    spec.name,
                )
            )
        g.level[:] = level
        return out

    def _vote(self, now_ns: int) -> list[ConditionChange]:
        out = []
        for i, g in enumerate(self.p.vote):
            members = self.voter_row[np.array(g.members)]
            values = self.last_value[members]
            fresh = (now_ns - self.last_time[members] <= g.stale_after_s * 1e9) & ~np.isnan(values)
            voted = _vote(values[fresh])
            if np.isnan(voted):
                continue
            raw = self.vote_raw[i]
            for j, spec in enumerate(g.levels):
                raw[j] = True if voted >= spec.value else False if voted < spec.reset else raw[j]
            active = [spec for j, spec in enumerate(g.levels) if raw[j]]
            level = max((spec.level for spec in active), default=0)
            before = self.levels.get((VOTE, g.slot), 0)
            if level != before:
                spec = next((s for s in g.levels if s.level == (level or before)), g.levels[0])
                message = (
                    f"{g.name}: {int(fresh.sum())}-sensor vote {voted:.4g} {g.unit} "
                    f"≥ {spec.name} limit {spec.value:g} {g.unit}"
                    if level
                    else f"{g.name}: vote back below {spec.name} reset {spec.reset:g} {g.unit}"
                )
                out.append(
                    self._change(
                        VOTE, g.slot, level, spec.priority, voted, spec.value, now_ns, message, g.name, spec.name
                    )
                )
        return out

    def _change(
        self,
        rule: str,
        slot: int,
        level: int,
        priority: str,
        value: float,
        limit: float,
        now_ns: int,
        message: str,
        group: str,
        level_name: str | None = None,
    ) -> ConditionChange:
        self.levels[(rule, slot)] = level
        return ConditionChange(
            slot=slot,
            rule=rule,
            category="process",
            level=level,
            level_name=(level_name or rule.split(".")[1]) if level else "normal",
            priority=priority,
            value=float(value),
            limit=float(limit),
            time_ns=now_ns,
            message=" ".join(message.split()),
            extra={"group": group},
        )


def _vote(values: np.ndarray) -> float:
    if len(values) >= 3:
        return float(np.median(values))
    if len(values):
        return float(values.max())
    return float("nan")


# ---- from the site config ----------------------------------------------------------------------------


def multi_params(setup: Setup) -> MultiParams:
    registry = setup.registry
    ventilation: list[VentilationSpec] = []
    runaway: list[RunawaySpec] = []
    vote: list[VoteSpec] = []
    for site in setup.config.sites:

        def slot(ref: str, site_id: str = site.id) -> int:
            found = registry.slot(site_id, ref)
            if found is None:
                raise ValueError(f"group refers to unknown sensor {site_id}/{ref}")
            return found

        def unit_slot(group: GroupIdentity, site_id: str = site.id) -> int:
            found = registry.slot(site_id, group.unit_id)
            if found is None or found < len(registry):
                raise ValueError(f"group {group.name!r} has no unit slot of its own in the registry")
            return found

        for group in site.groups:
            if isinstance(group, VentilationGroup):
                ventilation.append(
                    VentilationSpec(
                        name=group.name,
                        slot=unit_slot(group),
                        methane=slot(group.methane),
                        velocity=slot(group.air_velocity),
                        methane_rate_per_min=group.methane_rate_per_min,
                        velocity_drop_fraction=group.velocity_drop_fraction,
                        window_s=group.window_s,
                        baseline_s=group.baseline_s,
                    )
                )
            elif isinstance(group, RunawayGroup):
                pressure = registry.sensors[slot(group.pressure)]
                runaway.append(
                    RunawaySpec(
                        name=group.name,
                        slot=unit_slot(group),
                        temperature=slot(group.temperature),
                        pressure=pressure.slot,
                        pressure_span=pressure.range_max - pressure.range_min,
                        temperature_rate_per_min=group.temperature_rate_per_min,
                        pressure_rate_per_min=group.pressure_rate_per_min,
                        window_s=group.window_s,
                    )
                )
            elif isinstance(group, VoteGroup):
                members = tuple(slot(ref) for ref in group.sensors)
                first = registry.sensors[members[0]]
                vote.append(
                    VoteSpec(
                        name=group.name,
                        slot=unit_slot(group),
                        members=members,
                        levels=level_specs(first.limits.high),
                        stale_after_s=first.poll_interval * group.stale_after_intervals,
                        unit=first.unit,
                    )
                )
    return MultiParams(ventilation=ventilation, runaway=runaway, vote=vote)


RULE = RuleDeclaration(
    name="multisensor",
    phase=Phase.GROUP,
    build=lambda setup: MultiSensorDetector(len(setup.registry), multi_params(setup)),
    parameters=(
        Parameter("ventilation: methane_rate_per_min", "0.01", "% CH4/min",
                  "DOMAIN.md §4: a stopped local fan makes CH4 climb ≈ +0.02 %/min"),
        Parameter("ventilation: velocity_drop_fraction", "0.2", "fraction of baseline",
                  "engineering choice; DOMAIN.md §2 air velocity 0.25–4 m/s at a face"),
        Parameter("ventilation: window_s / baseline_s", "120 / 1800", "s", "engineering choice"),
        Parameter("runaway: temperature_rate_per_min", "0.5", "°C/min",
                  "DOMAIN.md §4: normal |dT/dt| < 0.1 °C/min, 0.5 and more on cooling loss"),
        Parameter("runaway: pressure_rate_per_min", "0.5", "% of range/min",
                  "DOMAIN.md §4: pressure follows vapour pressure"),
        Parameter("vote_2oo3: stale_after_intervals", "3", "poll intervals", "IEC 61511 practice (degraded vote)"),
        Parameter("block", "10", "s", "engineering choice: slopes on 10 s block means"),
    ),
)
