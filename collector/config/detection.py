"""Per-sensor detector settings and multi-sensor groups. Unset fields take the kind's defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from collector.config.limits import StrictModel


class RateOfRise(StrictModel):
    limit_per_min: float = Field(
        gt=0, description="alarm when the rise over the window exceeds this per minute"
    )
    window_s: float = Field(default=60.0, gt=0)


class Forecast(StrictModel):
    horizon_s: float = Field(
        default=900.0, gt=0, description="warn when the limit is forecast within this time"
    )
    window_s: float = Field(default=300.0, gt=0, description="the robust slope is fitted over this window")


class Drift(StrictModel):
    k: float = Field(default=0.5, gt=0, description="CUSUM allowance in baseline standard deviations")
    h: float = Field(
        default=8.0, gt=0, description="CUSUM decision threshold in baseline standard deviations"
    )


class DetectionSettings(StrictModel):
    rate_of_rise: RateOfRise | None = None
    forecast: Forecast | None = None
    drift: Drift | None = None
    stuck_after_s: float | None = Field(
        default=None, gt=0, description="flat-line this long is a stuck sensor"
    )
    offline_after_intervals: float = Field(default=3.0, gt=0, description="dead-man: missed poll intervals")
    spikes: bool | None = None
    exposure: bool | None = Field(default=None, description="rolling TWA/STEL; on by default for toxic gases")


class VentilationGroup(StrictModel):
    type: Literal["ventilation"]
    name: str
    methane: str
    air_velocity: str


class RunawayGroup(StrictModel):
    type: Literal["runaway"]
    name: str
    temperature: str
    pressure: str
    temperature_rate_per_min: float = Field(default=0.5, gt=0)
    pressure_rate_per_min: float = Field(default=0.5, gt=0, description="percent of range per minute")


class VoteGroup(StrictModel):
    type: Literal["vote_2oo3"]
    name: str
    sensors: list[str] = Field(min_length=3, max_length=3)


class MultivariateGroup(StrictModel):
    type: Literal["multivariate"]
    name: str
    sensors: list[str] = Field(min_length=2)
    fit_samples: int = Field(default=400, ge=20)


SensorGroup = Annotated[
    VentilationGroup | RunawayGroup | VoteGroup | MultivariateGroup, Field(discriminator="type")
]
