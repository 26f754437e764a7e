"""A first plausible chemical plant: reactors that breathe slowly, tanks, and clean air around them.

Each process unit has one reactor state, a slow temperature oscillation around a set-point below
its first high limit; the unit's temperature sensors read it with their own noise (so a 2oo3
vote has three honest voters), its pressure follows the temperature like a vapour pressure
(doubling per +20 °C), and its flows rise a little with temperature (the cooling controller
opening). Gas detectors read near zero, oxygen 20.9 %. Everything is vectorised over sensors and
deterministic for a seed and a sequence of sample times.
"""

from __future__ import annotations

import numpy as np

from hazwatch.config.kinds import DEFAULT_RANGE, TOXIC_KINDS, AreaKind, SensorKind
from hazwatch.config.schema import Sensor, Site

_TOXIC_BACKGROUND_PPM = {SensorKind.NH3: 1.0, SensorKind.CO: 1.5, SensorKind.H2S: 0.2}
_PRESSURE_DOUBLING_C = 20.0


def _first_limit(sensor: Sensor, side: str) -> float | None:
    levels = getattr(sensor.limits, side) if sensor.limits is not None else None
    return levels[0].value if levels else None


class PlantModel:
    """SiteModel of a chemical plant built from its site config."""

    def __init__(self, site: Site, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        sensors = [(area, sensor) for area in site.areas for sensor in area.sensors]
        self.sensors: list[str] = [sensor.id for _, sensor in sensors]
        n = len(sensors)
        reactor_areas = [a.id for a in site.areas if a.kind == AreaKind.PROCESS_UNIT]
        # A swing of ~1 °C over 1.5-2.5 h keeps |dT/dt| under the 0.1 °C/min of a reactor in normal operation.
        self.reactor_amplitude = self.rng.uniform(0.8, 1.4, len(reactor_areas))
        self.reactor_period = self.rng.uniform(5400.0, 9000.0, len(reactor_areas))
        self.reactor_phase = self.rng.uniform(0.0, 2 * np.pi, len(reactor_areas))

        self.base = np.zeros(n)
        self.amplitude = np.zeros(n)
        self.period = self.rng.uniform(600.0, 3600.0, n)
        self.phase = self.rng.uniform(0.0, 2 * np.pi, n)
        self.noise = np.zeros(n)
        self.reactor = np.full(n, -1)
        self.low = np.zeros(n)
        self.high = np.zeros(n)
        self.is_temperature = np.zeros(n, dtype=bool)
        self.is_pressure = np.zeros(n, dtype=bool)
        self.is_flow = np.zeros(n, dtype=bool)
        for i, (area, sensor) in enumerate(sensors):
            self.low[i], self.high[i] = sensor.range or DEFAULT_RANGE.get(sensor.kind, (0.0, 100.0))
            if area.id in reactor_areas:
                self.reactor[i] = reactor_areas.index(area.id)
            self._shape(i, sensor)
        self._in_reactor = self.reactor >= 0
        self._reactor_amplitude_of = np.ones(n)
        self._reactor_amplitude_of[self._in_reactor] = self.reactor_amplitude[self.reactor[self._in_reactor]]

    def _shape(self, i: int, sensor: Sensor) -> None:
        """Base value, slow swing and noise for one sensor, from its kind, range and limits."""
        span = self.high[i] - self.low[i]
        high = _first_limit(sensor, "high")
        low = _first_limit(sensor, "low")
        kind = sensor.kind
        if kind == SensorKind.TEMPERATURE:
            in_reactor = self.reactor[i] >= 0
            self.base[i] = 0.8 * high if high is not None and in_reactor else 20.0
            self.amplitude[i] = 0.0 if in_reactor else 2.0
            self.noise[i] = 0.1
            self.is_temperature[i] = in_reactor
        elif kind == SensorKind.PRESSURE:
            in_reactor = self.reactor[i] >= 0
            self.base[i] = (0.7 if in_reactor else 0.3) * (high if high is not None else self.low[i] + 0.5 * span)
            self.amplitude[i] = 0.0 if in_reactor else 0.1 * self.base[i]
            self.noise[i] = 0.003 * self.base[i]
            self.is_pressure[i] = in_reactor
        elif kind == SensorKind.FLOW:
            self.base[i] = max(self.low[i] + 0.45 * span, 2 * low if low is not None else 0.0)
            self.noise[i] = 0.01 * self.base[i]
            self.is_flow[i] = self.reactor[i] >= 0
        elif kind == SensorKind.LEVEL:
            bottom = low if low is not None else self.low[i] + 0.1 * span
            top = high if high is not None else self.low[i] + 0.9 * span
            self.base[i] = (bottom + top) / 2
            self.amplitude[i] = 0.25 * (top - bottom)
            self.noise[i] = 0.05
        elif kind == SensorKind.LEL:
            self.base[i], self.amplitude[i], self.noise[i] = 1.0, 0.6, 0.3
        elif kind == SensorKind.O2:
            self.base[i], self.noise[i] = 20.9, 0.03
        elif kind in TOXIC_KINDS:
            background = _TOXIC_BACKGROUND_PPM.get(kind, 0.1)
            self.base[i], self.noise[i] = background, 0.2 * background + 0.05
        else:
            self.base[i] = self.low[i]

    def reactor_deviation(self, t_s: float) -> np.ndarray:
        """Each reactor's temperature above its set-point (°C) at t_s."""
        return self.reactor_amplitude * np.sin(2 * np.pi * t_s / self.reactor_period + self.reactor_phase)

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        deviation = np.zeros(len(self.sensors))
        deviation[self._in_reactor] = self.reactor_deviation(t_s)[self.reactor[self._in_reactor]]
        swing = self.amplitude * np.sin(2 * np.pi * t_s / self.period + self.phase)
        values = self.base + swing
        values = np.where(self.is_temperature, values + deviation, values)
        values = np.where(self.is_pressure, values * 2.0 ** (deviation / _PRESSURE_DOUBLING_C), values)
        values = np.where(self.is_flow, values * (1 + 0.05 * deviation / self._reactor_amplitude_of), values)
        values = values + self.noise * self.rng.standard_normal(len(values))
        values = np.clip(np.round(values, 3), self.low, self.high)
        return values, np.zeros(len(values), dtype=np.uint8)
