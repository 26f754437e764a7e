"""What can happen during a scenario: process events the physics reacts to and faults of single sensors.

They are plain data (validated from scenario YAML) so a scenario file reads like an incident log:
at t seconds, this happened there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: float = Field(ge=0, description="seconds after the scenario start")


# --- mine -------------------------------------------------------------------------------------------


class CuttingSurge(_Event):
    """The shearer cuts into a gas-rich zone: face emission rises by `multiplier`, then falls back."""

    type: Literal["cutting_surge"]
    area: str | None = Field(default=None, description="longwall area; the first longwall when omitted")
    multiplier: float = Field(default=3.0, gt=1)
    ramp_s: float = Field(default=300.0, ge=0)
    duration_s: float = Field(default=900.0, gt=0)


class FanStop(_Event):
    """A heading's local fan stops; gas accumulates at emission / volume until it restarts."""

    type: Literal["fan_stop"]
    area: str | None = Field(default=None, description="heading area; the first heading when omitted")
    duration_s: float | None = Field(default=None, gt=0, description="restart after this long; never if omitted")


class Outburst(_Event):
    """Coal and gas outburst: a gas volume released within seconds, airflow reversed for a minute."""

    type: Literal["outburst"]
    area: str | None = None
    volume_m3: float = Field(default=8000.0, gt=0)
    release_s: float = Field(default=90.0, gt=0, description="e-folding time of the gas release")


class SpontaneousCombustion(_Event):
    """Self-heating coal in the goaf: CO at the return corner creeps up exponentially."""

    type: Literal["spontaneous_combustion"]
    area: str | None = None
    rise_ppm: float = Field(default=40.0, gt=0, description="CO rise at the return corner after duration_s")
    duration_s: float = Field(default=10800.0, gt=0)


class BeltFire(_Event):
    """Belt fire at the drive head: CO climbs within minutes, smoke follows, the roadway heats up."""

    type: Literal["belt_fire"]
    area: str | None = None
    co_ppm: float = Field(default=150.0, gt=0, description="CO the fire settles at near the drive head")
    tau_s: float = Field(default=240.0, gt=0)


# --- plant ------------------------------------------------------------------------------------------


class CoolingLoss(_Event):
    """A reactor's jacket cooling fails: heat removal drops to `remaining`, the reaction may run away."""

    type: Literal["cooling_loss"]
    area: str = Field(description="the reactor's process-unit area")
    remaining: float = Field(default=0.05, ge=0, le=1)
    duration_s: float | None = Field(default=None, gt=0, description="cooling restored after this long")


class TankHeating(_Event):
    """A tank's contents heat up (steam coil, fire nearby, sun) while the vent is blocked."""

    type: Literal["tank_heating"]
    tank: str = Field(description="tank tag: the sensor-id prefix, e.g. T201")
    rate_c_per_min: float = Field(default=0.35, gt=0)
    to_c: float = Field(default=45.0)


class Leak(_Event):
    """A leak whose plume meanders over nearby detectors: intermittent readings, neighbours lag the first."""

    type: Literal["leak"]
    sensors: list[str] = Field(min_length=1, description="detectors downwind, nearest first")
    mean: float = Field(gt=0, description="mean reading at the nearest detector (its unit)")
    neighbour_factor: float = Field(default=0.5, gt=0, le=1)
    wind_lag_s: float = Field(default=20.0, ge=0, description="lag from one detector to the next")
    intermittency: float = Field(default=0.6, gt=0, le=1, description="fraction of time the plume is present")
    ramp_s: float = Field(default=60.0, ge=0)
    duration_s: float | None = Field(default=None, gt=0)
    vessel_pressure: str | None = Field(default=None, description="pressure sensor of the leaking vessel")


# --- sensor faults ----------------------------------------------------------------------------------


class Calibration(_Event):
    """Test gas applied to a sensor in calibration mode: a plateau, flagged Quality.CALIBRATION."""

    type: Literal["calibration"]
    sensor: str
    gas: float = Field(default=2.0, description="test gas concentration (catalytic CH4: about 2 %)")
    duration_s: float = Field(default=120.0, ge=60, le=180)


class Stuck(_Event):
    """A sensor freezes; value 0.0 is the tampering case (a sensor wrapped or shorted to read 0.00)."""

    type: Literal["stuck"]
    sensor: str
    value: float | None = Field(default=None, description="the frozen reading; its last reading if omitted")
    duration_s: float | None = Field(default=None, gt=0)


class Drift(_Event):
    type: Literal["drift"]
    sensor: str
    per_hour: float = Field(description="reading error added per hour (unit of the sensor)")


class Offset(_Event):
    """A bad calibration leaves a constant error."""

    type: Literal["offset"]
    sensor: str
    offset: float


class Spikes(_Event):
    """Interference from a variable-frequency drive: 1–2 sample jumps to near full scale."""

    type: Literal["spikes"]
    sensor: str
    duration_s: float = Field(gt=0)
    per_hour: float = Field(default=20.0, gt=0)
    fraction: float = Field(default=0.95, gt=0, le=1, description="spike height as a fraction of full scale")


class SensitivityLoss(_Event):
    """A poisoned catalytic bead: the response to gas shrinks to `to` over `over_s`."""

    type: Literal["sensitivity_loss"]
    sensor: str
    to: float = Field(default=0.3, ge=0, lt=1)
    over_s: float = Field(default=3600.0, gt=0)


class NoiseGrowth(_Event):
    type: Literal["noise_growth"]
    sensor: str
    factor: float = Field(default=5.0, gt=1)


class CommsLoss(_Event):
    """A device's link drops: nothing arrives, then (with backfill) its buffered readings arrive late."""

    type: Literal["comms_loss"]
    device: str
    duration_s: float = Field(gt=0)
    backfill: bool = True


PhysicsEvent = CuttingSurge | FanStop | Outburst | SpontaneousCombustion | BeltFire | CoolingLoss | TankHeating | Leak
SensorFault = Calibration | Stuck | Drift | Offset | Spikes | SensitivityLoss | NoiseGrowth | CommsLoss
ScenarioEvent = Annotated[PhysicsEvent | SensorFault, Field(discriminator="type")]
PHYSICS_EVENTS = (CuttingSurge, FanStop, Outburst, SpontaneousCombustion, BeltFire, CoolingLoss, TankHeating, Leak)
