"""Alarm limit models: multi-level high and low limits with deadband, delays and latching."""

from __future__ import annotations

import math
from typing import Literal, Self, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

Priority = Literal["low", "medium", "high", "critical"]
Action = Literal["alarm", "power_cut", "trip", "evacuate"]
ArrayOrFloat = TypeVar("ArrayOrFloat", float, np.ndarray)


class StrictModel(BaseModel):
    """Every config model refuses unknown fields, so a typo is an error instead of a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitLevel(StrictModel):
    level: int = Field(
        ge=1, le=3, description="1 = first level (alarm, level 1), 2 = power-cut/level 2, 3 = beyond"
    )
    name: str = Field(min_length=1, description="shown to operators, e.g. alarm, power_cut, level1")
    value: float = Field(description="the limit: active at value >= limit (high) or <= limit (low)")
    reset: float | None = Field(
        default=None,
        description="clears below this (high) / above this (low); the deadband. Defaults to the limit itself",
    )
    on_delay: float = Field(default=0.0, ge=0, description="seconds the condition must hold before raising")
    off_delay: float = Field(
        default=0.0, ge=0, description="seconds the clear condition must hold before clearing"
    )
    latch: bool = Field(default=False, description="stays active until an operator resets it")
    priority: Priority = "medium"
    action: Action = "alarm"

    @property
    def reset_value(self) -> float:
        return self.value if self.reset is None else self.reset


class Limits(StrictModel):
    high: list[LimitLevel] = Field(default_factory=list)
    low: list[LimitLevel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _levels_ordered(self) -> Self:
        for side, levels, ascending in (("high", self.high, True), ("low", self.low, False)):
            numbers = [lv.level for lv in levels]
            if len(set(numbers)) != len(numbers):
                raise ValueError(f"{side} limits repeat a level number: {numbers}")
            ordered = sorted(levels, key=lambda lv: lv.level)
            values = [lv.value for lv in ordered]
            if values != sorted(values, reverse=not ascending):
                raise ValueError(
                    f"{side} limit values must {'rise' if ascending else 'fall'} with the level: {values}"
                )
            for lv in levels:
                wrong_side = lv.reset_value > lv.value if ascending else lv.reset_value < lv.value
                if wrong_side:
                    raise ValueError(
                        f"{side} level {lv.level} reset {lv.reset_value} is on the alarm side of its limit {lv.value}"
                    )
        return self


# ---- the one judgement of a reading against its limits -----------------------------------------------
# The threshold rule (detectors/rules/threshold.py) raises a level on exactly this condition, before its
# deadband and delays; views, reports and the scenario checker use these functions, never their own test.


def reaches(value: ArrayOrFloat, limit: float, high: bool) -> ArrayOrFloat:
    """A reading at or beyond a limit: >= a high limit, <= a low one (NaN never reaches); arrays work."""
    return value >= limit if high else value <= limit


def level_reached(limits: Limits, value: float) -> int:
    """The highest level whose limit the reading reaches, on either side; 0 when normal or not a number."""
    if not math.isfinite(value):
        return 0
    levels = [lv.level for lv in limits.high if reaches(value, lv.value, True)]
    levels += [lv.level for lv in limits.low if reaches(value, lv.value, False)]
    return max(levels, default=0)


def limit_of(limits: Limits, high: bool, level: int) -> LimitLevel | None:
    """The limit of one level on one side, or None when the sensor has no such level."""
    return next((lv for lv in (limits.high if high else limits.low) if lv.level == level), None)


def level_bands(limits: Limits, bottom: float, top: float) -> list[tuple[LimitLevel, float, float]]:
    """(limit, from, to) value ranges that reach each limit and not the next one out, for plots: a high level
    from its value up to the next high level's value (or `top`), a low level from `bottom` or the next
    low level's value up to its own."""
    bands: list[tuple[LimitLevel, float, float]] = []
    highs = sorted(limits.high, key=lambda lv: lv.value)
    for lv, above in zip(highs, [*highs[1:], None], strict=False):
        bands.append((lv, lv.value, max(above.value if above else top, lv.value)))
    lows = sorted(limits.low, key=lambda lv: lv.value, reverse=True)
    for lv, below in zip(lows, [*lows[1:], None], strict=False):
        bands.append((lv, min(below.value if below else bottom, lv.value), lv.value))
    return bands


def first_high_limit(limits: Limits) -> float:
    """The lowest high limit (inf without one): what forecasts aim at and what a path member alarms at."""
    return min((lv.value for lv in limits.high), default=math.inf)
