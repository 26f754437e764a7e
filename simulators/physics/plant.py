"""An older hazardous-chemical plant: exothermic reactors, vented tanks and gas detectors, rendered at once.

Reactors follow a lumped heat balance whose reaction heat doubles per +10 °C against jacket
cooling with a temperature controller; pressure follows vapour pressure (doubling per +20 °C)
up to the relief valve. Tanks breathe through a blanket whose pressure tracks the liquid's
Antoine vapour pressure. Leaks reach detectors as a meandering, intermittent plume.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from hazwatch.config.kinds import AreaKind, SensorKind
from hazwatch.config.limits import first_high_limit
from hazwatch.config.registry import SensorInfo
from simulators.physics import signals
from simulators.physics.baseline import quiet_value
from simulators.physics.events import CoolingLoss, Leak, PhysicsEvent, TankHeating
from simulators.physics.layout import LayoutError, SiteLayout

# Antoine constants (log10 P[mmHg] = A - B / (C + T[°C])) for the liquids the example tank farm holds.
ANTOINE: dict[str, tuple[float, float, float]] = {
    "methanol": (8.08097, 1582.271, 239.726),
    "toluene": (6.95464, 1344.8, 219.482),
    "benzene": (6.90565, 1211.033, 220.79),
}
_MMHG_KPA = 0.133322


def vapour_pressure_kpa(liquid: str, temperature_c: np.ndarray | float) -> np.ndarray:
    a, b, c = ANTOINE[liquid]
    return _MMHG_KPA * 10.0 ** (a - b / (c + np.asarray(temperature_c, dtype=np.float64)))


@dataclass(frozen=True)
class PlantParameters:
    runaway_onset_c_per_min: float = 0.5
    """Temperature rise right after total cooling loss at the normal operating point."""
    rate_doubling_c: float = 10.0
    vapour_doubling_c: float = 20.0
    coolant_c: float = 30.0
    controller_gain_per_c: float = 0.1
    boiling_margin_c: float = 110.0
    """The reaction mass boils (and the temperature stops climbing) this far above normal."""
    normal_margin_c: float = 15.0
    """Normal reactor temperature sits this far below its first high limit."""
    pressure_fraction: float = 0.55
    """Normal reactor pressure as a fraction of its first high limit."""
    relief_factor: float = 1.15
    """The relief valve opens at this multiple of the highest pressure limit."""
    cooling_flow_fraction: float = 0.45
    tank_ambient_c: float = 25.0
    tank_blanket_kpa: float = 5.0
    plume_corr_s: float = 8.0
    plume_sigma: float = 0.8


class PlantPhysics:
    """True process values at every sensor of a chemical-plant site, for a timeline and its events."""

    def __init__(self, layout: SiteLayout, params: PlantParameters | None = None, seed: int = 0) -> None:
        self.layout = layout
        self.p = params or PlantParameters()
        self.seed = seed

    def render(self, t: np.ndarray, events: list[PhysicsEvent]) -> np.ndarray:
        lay = self.layout
        truth = np.tile(np.array([quiet_value(s) for s in lay.sensors]), (len(t), 1))

        def put(info: SensorInfo, series: np.ndarray | float) -> None:
            truth[:, lay.column(info.sensor)] = series

        for area in lay.site.areas:
            if area.kind is AreaKind.PROCESS_UNIT:
                losses = [e for e in events if isinstance(e, CoolingLoss) and e.area == area.id]
                self._reactor(t, area.id, losses, put)
            elif area.kind is AreaKind.TANK_FARM:
                self._tanks(t, area.id, [e for e in events if isinstance(e, TankHeating)], put)
        for e in events:
            if isinstance(e, CoolingLoss):
                lay.area(e.area, AreaKind.PROCESS_UNIT)
            elif isinstance(e, TankHeating) and not any(s.sensor.startswith(f"{e.tank}-") for s in lay.sensors):
                raise LayoutError(f"no sensors of tank {e.tank!r} in site {lay.site.id}")
            elif isinstance(e, Leak):
                self._leak(t, e, truth)
        return truth

    def _reactor(self, t: np.ndarray, area: str, losses: list[CoolingLoss], put) -> None:
        p, lay = self.p, self.layout
        temps = lay.find(area, SensorKind.TEMPERATURE)
        if not temps:
            return
        high = first_high_limit(temps[0].limits)
        t_normal = (high - p.normal_margin_c) if math.isfinite(high) else 70.0
        cooling = np.ones_like(t)
        for e in losses:
            until = None if e.duration_s is None else e.at + e.duration_s
            cooling = cooling * (1.0 - (1.0 - e.remaining) * signals.step_on(t, e.at, until))
        temperature = self._heat_balance(t, cooling, t_normal)
        for s in temps:
            put(s, temperature)
        pressures = lay.find(area, SensorKind.PRESSURE)
        for s in pressures:
            top = max((lv.value for lv in s.limits.high), default=s.range_max * 0.6)
            first = first_high_limit(s.limits)
            normal = p.pressure_fraction * (first if math.isfinite(first) else top)
            vapour = normal * 2.0 ** ((temperature - t_normal) / p.vapour_doubling_c)
            put(s, np.minimum(vapour, p.relief_factor * top))
        for s in lay.find(area, SensorKind.FLOW):
            if _is_cooling(s):
                put(s, p.cooling_flow_fraction * s.range_max * cooling)
            else:
                put(s, 0.6 * s.range_max)

    def _heat_balance(self, t: np.ndarray, cooling: np.ndarray, t_normal: float) -> np.ndarray:
        """dT/dt = a·2^((T-T0)/10) - a·c(t)·(1 + K(T-T0))·(T-Tc)/(T0-Tc), capped at boiling.

        With full cooling throughout, T0 is the equilibrium (dT/dt = 0) and the reactor stays there: only a
        cooling change needs the integrator, which would cost the servers a second per reactor and hour.
        """
        if np.all(cooling == 1.0):
            return np.full_like(t, t_normal)
        p = self.p
        a = p.runaway_onset_c_per_min / 60.0
        k = np.log(2.0) / p.rate_doubling_c
        boil = t_normal + p.boiling_margin_c
        span = t_normal - p.coolant_c

        def rate(time: float, y: np.ndarray) -> np.ndarray:
            temp = y[0]
            c = np.interp(time, t, cooling)
            generated = a * np.exp(k * min(temp - t_normal, 200.0))
            removed = a * c * max(1.0 + p.controller_gain_per_c * (temp - t_normal), 0.0) * (temp - p.coolant_c) / span
            rise = generated - removed
            return np.array([0.0 if temp >= boil and rise > 0 else rise])

        solution = solve_ivp(rate, (t[0], t[-1]), [t_normal], t_eval=t, max_step=float(t[1] - t[0]) * 2, rtol=1e-6)
        return np.minimum(solution.y[0], boil)

    def _tanks(self, t: np.ndarray, area: str, heating: list[TankHeating], put) -> None:
        p, lay = self.p, self.layout
        tanks: dict[str, list[SensorInfo]] = defaultdict(list)
        for s in lay.find(area):
            if "-" in s.sensor and s.kind in (SensorKind.TEMPERATURE, SensorKind.PRESSURE, SensorKind.LEVEL):
                tanks[s.sensor.split("-")[0]].append(s)
        for tag, sensors in tanks.items():
            temperature = np.full_like(t, p.tank_ambient_c)
            for e in heating:
                if e.tank == tag:
                    temperature = np.minimum(temperature + e.rate_c_per_min / 60.0 * np.maximum(t - e.at, 0.0), e.to_c)
            liquid = next((name for name in ANTOINE for s in sensors if name in s.name.lower()), "methanol")
            gauge = (
                p.tank_blanket_kpa
                + vapour_pressure_kpa(liquid, temperature)
                - vapour_pressure_kpa(liquid, p.tank_ambient_c)
            )
            for s in sensors:
                if s.kind is SensorKind.TEMPERATURE:
                    put(s, temperature)
                elif s.kind is SensorKind.PRESSURE:
                    put(s, gauge)
                else:
                    put(s, 60.0)

    def _leak(self, t: np.ndarray, e: Leak, truth: np.ndarray) -> None:
        """Plume: a lognormal, intermittent concentration; each neighbour sees it later, weaker, partly its own."""
        p, lay = self.p, self.layout
        dt = float(t[1] - t[0])
        rng = np.random.default_rng([self.seed, 7919, int(e.at)])
        until = None if e.duration_s is None else e.at + e.duration_s
        strength = signals.ramp(t, e.at, e.ramp_s) * (1.0 if until is None else 1.0 - signals.step_on(t, until))
        core = signals.ar1_noise(rng, len(t), dt, p.plume_corr_s)
        gate = signals.ar1_noise(rng, len(t), dt, 4.0 * p.plume_corr_s)
        threshold = float(np.quantile(gate, 1.0 - e.intermittency))
        for i, sensor_id in enumerate(e.sensors):
            column = lay.column(sensor_id)
            lag = i * e.wind_lag_s
            own = signals.ar1_noise(rng, len(t), dt, p.plume_corr_s)
            z = 0.8 * signals.delayed(core, t, lag) + 0.6 * own
            present = signals.delayed(gate, t, lag) > threshold
            plume = np.exp(p.plume_sigma * z - p.plume_sigma**2 / 2.0) * present / e.intermittency
            mean = e.mean * e.neighbour_factor**i
            truth[:, column] = truth[:, column] + mean * signals.delayed(strength, t, lag) * plume
        if e.vessel_pressure is not None:
            column = lay.column(e.vessel_pressure)
            loss = signals.exp_rise(t, e.at, 900.0) * (strength > 0)
            truth[:, column] = truth[:, column] * (1.0 - 0.6 * loss)


def _is_cooling(info: SensorInfo) -> bool:
    text = f"{info.sensor} {info.name}".lower()
    return "cw" in text or "cool" in text
