"""The scenario file format: a site config, a timeline of events and the ground truth they imply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hazwatch.config.detection import DetectionSettings
from simulators.physics.events import ScenarioEvent
from simulators.physics.site import DEFAULT_START


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    """One alarm the scenario must raise.

    Timing, in the order it is checked: `before_level` — raised before the sensor's first reading at
    or over that high limit level (a time-to-limit warning ahead of the crossing); `by_s` — raised
    by this many seconds after the start; otherwise, for threshold rules, within
    `within_s` of the first reading over the limit (regulatory: 2 s); otherwise any time.
    """

    sensor: str
    rule: str = Field(description="rule name, e.g. threshold.high, health.stuck, trend.forecast, multi.runaway")
    level: int = Field(default=1, ge=1, description="the alarm must reach at least this level")
    after_s: float = Field(default=0.0, ge=0, description="raises before this time do not count")
    by_s: float | None = Field(default=None, gt=0)
    before_level: int | None = Field(default=None, ge=1)
    within_s: float = Field(default=2.0, gt=0)


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    description: str = ""
    site: Literal["mine", "plant"]
    config: str = Field(description="site config path, relative to the repository root or this file")
    seed: int = 0
    duration_s: float = Field(gt=0, le=7 * 86400)
    step_s: float = Field(default=2.0, gt=0, description="sample period (the devices' poll interval)")
    start: datetime = DEFAULT_START
    detect: dict[str, DetectionSettings] = Field(
        default_factory=dict,
        description="detector settings this scenario gives some sensors on top of the config (e.g. drift on)",
    )
    events: list[ScenarioEvent] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)
    must_not_alarm: list[str] = Field(
        default_factory=list, description="sensors that must raise no process alarm at all"
    )
    may_alarm: list[str] = Field(
        default_factory=list,
        description="sensors whose process alarms are plausible consequences, neither expected nor false",
    )

    @model_validator(mode="after")
    def _aware_start(self) -> Self:
        if self.start.tzinfo is None:
            raise ValueError("start needs a timezone (e.g. 2024-03-01T08:00:00Z)")
        return self

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)
