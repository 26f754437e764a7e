"""Per-sensor detector settings and multi-sensor groups. Unset fields take the kind's defaults.

The per-kind defaults below are starting points from shared/DOMAIN.md (sources in docs/detectors.md);
figures DOMAIN.md marks (u) and engineering choices made here are overridable per sensor.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from hazwatch.config.kinds import BINARY_KINDS, GAS_KINDS, TOXIC_KINDS, SensorKind
from hazwatch.config.limits import StrictModel

Rule = Literal["rate_of_rise", "forecast", "drift", "stuck", "spikes", "exposure", "offline", "range", "learned"]


class RateOfRise(StrictModel):
    limit_per_min: float = Field(gt=0, description="alarm when the rise over the window exceeds this per minute")
    window_s: float = Field(default=60.0, gt=0)


class Forecast(StrictModel):
    horizon_s: float = Field(default=900.0, gt=0, description="warn when the limit is forecast within this time")
    window_s: float = Field(default=300.0, gt=0, description="the robust slope is fitted over this window")


class Drift(StrictModel):
    k: float = Field(default=0.5, gt=0, description="CUSUM allowance in baseline standard deviations")
    h: float = Field(default=8.0, gt=0, description="CUSUM decision threshold in baseline standard deviations")
    block_s: float = Field(default=60.0, gt=0, description="CUSUM steps on block means of this length")
    baseline_s: float = Field(default=3600.0, gt=0, description="time constant of the EWMA baseline")
    warmup_blocks: int = Field(default=30, ge=1, description="blocks learned before the CUSUM may alarm")
    sigma_floor: float | None = Field(
        default=None, gt=0, description="smallest baseline deviation assumed; default 0.5 % of the range"
    )


class Learned(StrictModel):
    """The learned-normal rule (docs/detectors.md#learned-normal): on by default for generic sensors."""

    budget_per_day: float = Field(
        default=1.0, gt=0, description="false alarms per sensor-day it may raise on normal data (sets its quantile)"
    )
    min_surprise: float = Field(default=4.0, gt=0, description="smallest smoothed robust z that may alarm")
    max_surprise: float = Field(
        default=5.0, gt=0, description="the threshold until the history is long enough to vouch for the budget"
    )
    smooth_readings: float = Field(default=3.0, ge=1, description="readings the surprise is smoothed over")
    warmup_readings: int = Field(default=288, ge=1, description="readings learned before it may alarm")
    warmup_s: float = Field(default=86400.0, ge=0, description="time learned before it may alarm (a daily cycle)")
    adapt_after_s: float = Field(
        default=86400.0, gt=0, description="unusual this long is a new operating point: relearn from there"
    )
    hold_s: float = Field(
        default=43200.0, ge=0, description="an alarm stays this long after the last unusual reading (one per burst)"
    )
    scale_floor: float = Field(
        default=0.02, ge=0, description="deviations below this fraction of the signal's spread are never unusual"
    )
    level_s: float = Field(default=259200.0, gt=0, description="time constant of the learned level")
    error_s: float = Field(default=604800.0, gt=0, description="time constant of the learned spread and history")


class DetectionSettings(StrictModel):
    rate_of_rise: RateOfRise | None = None
    learned: Learned | None = Field(default=None, description="learned normal; default on for generic sensors")
    forecast: Forecast | None = None
    drift: Drift | None = None
    stuck_after_s: float | None = Field(default=None, gt=0, description="flat-line this long is a stuck sensor")
    offline_after_intervals: float = Field(default=3.0, gt=0, description="dead-man: missed poll intervals")
    long_offline_after_s: float = Field(
        default=300.0, gt=0, description="silent this long escalates offline to level 2 (long offline)"
    )
    spikes: bool | None = None
    exposure: bool | None = Field(default=None, description="rolling TWA/STEL; on by default for toxic gases")
    spike_jump_fraction: float | None = Field(
        default=None, gt=0, le=1, description="a 1–2 reading jump of this fraction of the range is a spike"
    )
    range_margin_fraction: float = Field(
        default=0.02, ge=0, description="tolerance outside the physical range, as a fraction of it"
    )
    disable: list[Rule] = Field(default_factory=list, description="switch off rules the kind has by default")

    def wants(self, rule: Rule) -> bool:
        return rule not in self.disable


class VentilationGroup(StrictModel):
    type: Literal["ventilation"]
    name: str
    methane: str
    air_velocity: str
    methane_rate_per_min: float = Field(default=0.01, gt=0, description="% CH4 per minute counted as rising")
    velocity_drop_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="velocity this fraction below its baseline counts as fallen"
    )
    window_s: float = Field(default=120.0, gt=0, description="slopes are fitted over this window")
    baseline_s: float = Field(default=1800.0, gt=0, description="time constant of the velocity baseline")


class RunawayGroup(StrictModel):
    type: Literal["runaway"]
    name: str
    temperature: str
    pressure: str
    temperature_rate_per_min: float = Field(default=0.5, gt=0)
    pressure_rate_per_min: float = Field(default=0.5, gt=0, description="percent of range per minute")
    window_s: float = Field(default=60.0, gt=0, description="slopes are fitted over this window")


class VoteGroup(StrictModel):
    type: Literal["vote_2oo3"]
    name: str
    sensors: list[str] = Field(min_length=3, max_length=3)
    stale_after_intervals: float = Field(
        default=3.0, gt=0, description="a member silent this many poll intervals is left out of the vote"
    )


class MultivariateGroup(StrictModel):
    type: Literal["multivariate"]
    name: str
    sensors: list[str] = Field(min_length=2)
    fit_samples: int = Field(default=400, ge=20)

    @model_validator(mode="after")
    def _enough_rows_to_calibrate(self) -> Self:
        """The unit model skips 20 warm-up rows and needs two rows per sensor (detectors/rules/multivariate.py)."""
        least = 20 + 2 * len(self.sensors)
        if self.fit_samples < least:
            raise ValueError(f"fit_samples must be at least {least} for {len(self.sensors)} sensors")
        return self


SensorGroup = Annotated[VentilationGroup | RunawayGroup | VoteGroup | MultivariateGroup, Field(discriminator="type")]


# ---- per-kind defaults --------------------------------------------------------------------------------

ANALOG_KINDS: frozenset[SensorKind] = frozenset(SensorKind) - BINARY_KINDS - {SensorKind.GENERIC}
"""Physical analog kinds; a generic signal makes no physical assumption, so it gets no spike or stuck default."""

STUCK_AFTER_S: dict[SensorKind, float] = {
    **dict.fromkeys(ANALOG_KINDS, 3600.0),
    SensorKind.AIR_VELOCITY: 1800.0,
}
"""Flat-line time that makes a sensor stuck (engineering choice; binary kinds never get stuck alarms)."""

RATE_OF_RISE: dict[SensorKind, RateOfRise] = {
    SensorKind.CH4: RateOfRise(limit_per_min=0.2, window_s=60.0),
    SensorKind.CO: RateOfRise(limit_per_min=5.0 / 60.0, window_s=1800.0),
    SensorKind.TEMPERATURE: RateOfRise(limit_per_min=0.5, window_s=60.0),
}
"""CH4 %/min (outburst, fan stop), CO 5 ppm/h (spontaneous combustion), dT/dt 0.5 °C/min (runaway onset)."""

FORECAST: dict[SensorKind, Forecast] = {
    **dict.fromkeys(
        (GAS_KINDS - {SensorKind.O2, SensorKind.CO}) | {SensorKind.TEMPERATURE, SensorKind.PRESSURE, SensorKind.LEVEL},
        Forecast(),
    ),
    SensorKind.CO: Forecast(horizon_s=3600.0, window_s=1800.0),
}
"""Time-to-limit warnings: 15 min ahead from a 5 min window; CO creeps, so 1 h ahead from 30 min."""

SPIKE_JUMP_FRACTION = 0.5
"""A 1–2 reading jump of half the range and back is interference, not atmosphere (DOMAIN.md §4)."""

SPIKE_HOLD_S = 300.0
"""A spike alarm stays this long after the last spike, so repeated interference is one alarm."""

EXPOSURE_KINDS: frozenset[SensorKind] = TOXIC_KINDS

LEARNED_KINDS: frozenset[SensorKind] = frozenset({SensorKind.GENERIC})
"""Kinds the learned-normal rule watches without being asked: those with no limits to watch."""
