"""Scripted sensor states on top of any SiteModel: a calibration session, a failed sensor, test gas.

The demo uses this to show, within its first minute, that flagged readings are recorded but never
raise a process alarm; the scenario library (simulators/scenarios) models the same faults physically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazwatch.quality import Quality
from simulators.model import SiteModel


@dataclass(frozen=True)
class ScriptedState:
    sensor: str
    start_s: float
    end_s: float
    quality: Quality
    value: float | None = None
    """The reading during the window (e.g. test gas); None keeps the model's value."""


class QualityOverlay:
    """A SiteModel whose chosen sensors report a scripted quality (and value) during their windows."""

    def __init__(self, model: SiteModel, states: list[ScriptedState]) -> None:
        self.model = model
        self.sensors = model.sensors
        index = {sensor: i for i, sensor in enumerate(model.sensors)}
        self.states = [(index[s.sensor], s) for s in states if s.sensor in index]

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        values, quality = self.model.sample(t_s)
        for i, state in self.states:
            if state.start_s <= t_s < state.end_s:
                quality[i] = state.quality
                if state.value is not None:
                    values[i] = state.value
        return values, quality
