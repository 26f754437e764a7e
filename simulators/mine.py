"""A first plausible coal mine: per-kind baselines with sensor noise, a shearer cutting cycle, and a scripted gas event.

Face methane is emission divided by airflow (DOMAIN.md §4): while the shearer cuts, emission
rises, most at the shearer and the return corner (T0), and the rise reaches the return airway
(T2) later by the transport time of the air. The model is a function of time plus seeded noise,
so a run is reproducible and a test can predict what it will see.
"""

from __future__ import annotations

import numpy as np

from hazwatch.config.kinds import DEFAULT_RANGE, AreaKind, Location, SensorKind
from hazwatch.config.schema import Site
from hazwatch.quality import Quality

SHEARER_PERIOD_S = 5400.0
"""One cutting pass every 1.5 h."""
CUTTING_FRACTION = 0.6
"""Share of the cycle the shearer cuts; the rest is turnaround and maintenance."""
RETURN_LAG_S = 250.0
"""500 m of return airway at 2 m/s."""

_BASELINE: dict[SensorKind, tuple[float, float]] = {
    SensorKind.CH4: (0.30, 0.015),
    SensorKind.CO: (3.0, 0.3),
    SensorKind.O2: (20.8, 0.02),
    SensorKind.CO2: (0.20, 0.01),
    SensorKind.H2S: (0.2, 0.05),
    SensorKind.NO2: (0.1, 0.02),
    SensorKind.SO2: (0.1, 0.02),
    SensorKind.NH3: (1.0, 0.2),
    SensorKind.AIR_VELOCITY: (2.0, 0.05),
    SensorKind.TEMPERATURE: (24.0, 0.1),
    SensorKind.PRESSURE: (2200.0, 10.0),
    SensorKind.FAN_STATE: (1.0, 0.0),
    SensorKind.FEED_STATE: (1.0, 0.0),
    SensorKind.SMOKE: (0.0, 0.0),
    SensorKind.DOOR: (0.0, 0.0),
}
"""(baseline, noise sigma) per kind, in the kind's default unit."""

_METHANE_BY_LOCATION: dict[Location | None, float] = {
    Location.T0: 0.45,
    Location.T1: 0.40,
    Location.SHEARER: 0.50,
    Location.T2: 0.35,
    Location.T3: 0.08,
    Location.T4: 0.10,
}
_CUTTING_GAIN: dict[Location | None, float] = {
    Location.SHEARER: 0.9,
    Location.T0: 0.7,
    Location.T1: 0.5,
    Location.T2: 0.4,
}
"""Extra emission at the peak of a cut, as a fraction of the baseline."""
_AREA_METHANE: dict[AreaKind, float] = {
    AreaKind.DISTRICT_RETURN: 0.30,
    AreaKind.MAIN_RETURN: 0.20,
    AreaKind.BELT_ROADWAY: 0.05,
    AreaKind.INTAKE: 0.03,
    AreaKind.CHAMBER: 0.02,
}
_AREA_TEMPERATURE: dict[AreaKind, float] = {
    AreaKind.LONGWALL: 24.5,
    AreaKind.HEADING: 22.0,
    AreaKind.CHAMBER: 26.0,
    AreaKind.BELT_ROADWAY: 28.0,
    AreaKind.DISTRICT_RETURN: 25.0,
}
_AREA_AIR_VELOCITY: dict[AreaKind, float] = {
    AreaKind.LONGWALL: 2.0,
    AreaKind.HEADING: 1.5,
    AreaKind.DISTRICT_RETURN: 2.5,
    AreaKind.BELT_ROADWAY: 3.0,
    AreaKind.MAIN_RETURN: 5.0,
}

# Scripted methane event at the longwall face (T1): through 1.0 % at ~11 s, 1.5 % at ~17 s,
# a 1.8 % peak until 30 s, then back below 1.0 % at ~42 s.
_EVENT_TIMES = np.array([0.0, 20.0, 30.0, 45.0, 70.0])
_EVENT_LEVELS = np.array([0.0, 1.8, 1.8, 0.8, 0.0])


def _cutting(t_s: np.ndarray | float) -> np.ndarray:
    """0 between passes, rising to 1 mid-pass: the shearer's share of face emission."""
    phase = np.mod(t_s, SHEARER_PERIOD_S) / SHEARER_PERIOD_S
    return np.where(phase < CUTTING_FRACTION, np.sin(np.pi * phase / CUTTING_FRACTION), 0.0)


class MineModel:
    """SiteModel of a coal mine built from its site config; deterministic for a given seed."""

    def __init__(self, site: Site, seed: int = 0, methane_event_at_s: float | None = None) -> None:
        self.sensors: list[str] = []
        baseline, sigma, gain, lag, rate, low, high = ([] for _ in range(7))
        event: list[bool] = []
        for area in site.areas:
            for sensor in area.sensors:
                base, noise = self._baseline(area.kind, sensor.kind, sensor.location, sensor.unit, sensor.range)
                on_face = area.kind == AreaKind.LONGWALL and sensor.kind == SensorKind.CH4
                self.sensors.append(sensor.id)
                baseline.append(base)
                sigma.append(noise)
                gain.append(_CUTTING_GAIN.get(sensor.location, 0.0) if on_face else 0.0)
                lag.append(RETURN_LAG_S if sensor.location == Location.T2 else 0.0)
                rate.append(self._counter_rate(sensor.kind, sensor.unit))
                range_ = sensor.range or DEFAULT_RANGE.get(sensor.kind, (-np.inf, np.inf))
                low.append(range_[0])
                high.append(range_[1])
                event.append(on_face and sensor.location == Location.T1)
        self._baseline_v = np.array(baseline)
        self._sigma = np.array(sigma)
        self._gain = np.array(gain)
        self._lag = np.array(lag)
        self._rate = np.array(rate)
        self._low = np.array(low)
        self._high = np.array(high)
        self._event = np.array(event, dtype=bool)
        self.methane_event_at_s = methane_event_at_s
        self._rng = np.random.default_rng(seed)

    @staticmethod
    def _baseline(
        area: AreaKind,
        kind: SensorKind,
        location: Location | None,
        unit: str | None,
        range_: tuple[float, float] | None,
    ) -> tuple[float, float]:
        if kind == SensorKind.CH4:
            level = _METHANE_BY_LOCATION.get(location) if area in (AreaKind.LONGWALL, AreaKind.HEADING) else None
            return (level if level is not None else _AREA_METHANE.get(area, 0.30)), 0.015
        if kind == SensorKind.TEMPERATURE:
            return _AREA_TEMPERATURE.get(area, 24.0), 0.1
        if kind == SensorKind.AIR_VELOCITY:
            return _AREA_AIR_VELOCITY.get(area, 2.0), 0.05
        if kind == SensorKind.FLOW and unit in ("h", "kWh"):
            return (12_000.0 if unit == "h" else 3_000_000.0), 0.0
        if kind in _BASELINE:
            return _BASELINE[kind]
        low, high = range_ or DEFAULT_RANGE.get(kind, (0.0, 100.0))
        return low + 0.4 * (high - low), 0.005 * (high - low)

    @staticmethod
    def _counter_rate(kind: SensorKind, unit: str | None) -> float:
        """Run-hour and energy counters only ever climb (a 250 kW main fan)."""
        if kind != SensorKind.FLOW:
            return 0.0
        return {"h": 1 / 3600, "kWh": 250 / 3600}.get(unit or "", 0.0)

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        cutting = _cutting(t_s - self._lag)
        noise = self._rng.normal(0.0, 1.0, len(self.sensors)) * self._sigma
        values = self._baseline_v * (1.0 + self._gain * cutting) + self._rate * t_s + noise
        if self.methane_event_at_s is not None:
            level = np.interp(t_s - self.methane_event_at_s, _EVENT_TIMES, _EVENT_LEVELS, left=0.0, right=0.0)
            values = np.where(self._event, np.maximum(values, level + noise), values)
        values = np.clip(values, self._low, self._high)
        return values, np.full(len(values), Quality.GOOD, dtype=np.uint8)
