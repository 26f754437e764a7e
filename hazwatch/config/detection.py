"""Per-sensor detector settings and multi-sensor groups. Unset fields take the kind's defaults.

These models are the site-config format, validated with field paths when a file is loaded; the per-kind
defaults, with their sources, are declared by the rule that uses them (detectors/rules/*.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

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
    budget_per_day: float | None = Field(
        default=None,
        gt=0,
        description="false alarms per sensor-day the CUSUM may spend on normal data; when set, h follows from it "
        "(Siegmund's run-length approximation) instead of being set by hand",
    )
    block_s: float = Field(default=60.0, gt=0, description="CUSUM steps on block means of this length")
    baseline_s: float = Field(default=3600.0, gt=0, description="time constant of the EWMA baseline")
    warmup_blocks: int = Field(default=30, ge=1, description="blocks learned before the CUSUM may alarm")
    sigma_floor: float | None = Field(
        default=None, gt=0, description="smallest baseline deviation assumed; default 0.5 % of the range"
    )


class DetectionSettings(StrictModel):
    rate_of_rise: RateOfRise | None = None
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
    rules: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="settings of rules that declare their own (detectors/rules/*.py), by rule name; the rule "
        "catalog validates each block against the rule's model before anything starts",
    )

    def wants(self, rule: Rule) -> bool:
        return rule not in self.disable


class GroupIdentity(StrictModel):
    """What a group's own alarm is shown as: a group alarm belongs to the group, not to one of its members, so
    a member's own health alarms neither withdraw it nor are mistaken for it (the registry gives each group a
    slot of its own: hazwatch/config/registry.py)."""

    name: str
    id: str | None = Field(
        default=None,
        min_length=1,
        description="the id the group's alarm is shown under (payloads, MQTT topic, records, dashboards); "
        "default: the name with every run of characters other than letters, digits, '.', '_' and '-' made '-'",
    )
    area: str | None = Field(
        default=None, description="the area the group's alarm belongs to; default: its first member's area"
    )

    @property
    def unit_id(self) -> str:
        return self.id or re.sub(r"[^A-Za-z0-9._-]+", "-", self.name).strip("-") or "group"

    @property
    def member_refs(self) -> list[str]:
        """The member sensors' ids, the first one first (its area is the group's default area)."""
        names = ("methane", "air_velocity", "temperature", "pressure")
        return list(getattr(self, "sensors", None) or [getattr(self, n) for n in names if hasattr(self, n)])


class VentilationGroup(GroupIdentity):
    type: Literal["ventilation"]
    methane: str
    air_velocity: str
    methane_rate_per_min: float = Field(default=0.01, gt=0, description="% CH4 per minute counted as rising")
    velocity_drop_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="velocity this fraction below its baseline counts as fallen"
    )
    window_s: float = Field(default=120.0, gt=0, description="slopes are fitted over this window")
    baseline_s: float = Field(default=1800.0, gt=0, description="time constant of the velocity baseline")


class RunawayGroup(GroupIdentity):
    type: Literal["runaway"]
    temperature: str
    pressure: str
    temperature_rate_per_min: float = Field(default=0.5, gt=0)
    pressure_rate_per_min: float = Field(default=0.5, gt=0, description="percent of range per minute")
    window_s: float = Field(default=60.0, gt=0, description="slopes are fitted over this window")


class VoteGroup(GroupIdentity):
    type: Literal["vote_2oo3"]
    sensors: list[str] = Field(min_length=3, max_length=3)
    stale_after_intervals: float = Field(
        default=3.0, gt=0, description="a member silent this many poll intervals is left out of the vote"
    )


class MultivariateGroup(GroupIdentity):
    type: Literal["multivariate"]
    sensors: list[str] = Field(min_length=2)
    fit_samples: int = Field(default=400, ge=20)
    target_false_alarm_rate: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="share of normal rows allowed over the unit's alarm limits, which are set from the calibration "
        "rows for it; default 1e-9, small because a short calibration of a drifting unit realises far more "
        "(docs/detectors.md)",
    )
    calibration_start: AwareDatetime | None = Field(
        default=None,
        description="the calibration rows are the first fit_samples complete rows from this time on, a known-normal "
        "stretch apart from what is judged; default: from the first rows the unit sees",
    )

    @model_validator(mode="after")
    def _enough_rows_to_calibrate(self) -> Self:
        """The unit model skips 20 warm-up rows and needs two rows per sensor (detectors/rules/multivariate.py)."""
        least = 20 + 2 * len(self.sensors)
        if self.fit_samples < least:
            raise ValueError(f"fit_samples must be at least {least} for {len(self.sensors)} sensors")
        return self


SensorGroup = Annotated[VentilationGroup | RunawayGroup | VoteGroup | MultivariateGroup, Field(discriminator="type")]
