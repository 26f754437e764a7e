"""An underground coal mine's atmosphere, rendered for a whole timeline at once.

The model is deliberately the one a ventilation engineer does on paper (shared/DOMAIN.md §4):
C = emission / airflow at the face, transport lag = distance / air speed to the return sensors,
a dead-end heading as one well-mixed volume, and district and main returns as mixing points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hazwatch.config.kinds import AreaKind, Location, SensorKind
from hazwatch.config.registry import SensorInfo
from simulators.physics import signals
from simulators.physics.baseline import quiet_value
from simulators.physics.events import BeltFire, CuttingSurge, FanStop, Outburst, PhysicsEvent, SpontaneousCombustion
from simulators.physics.layout import SiteLayout


@dataclass(frozen=True)
class MineParameters:
    """Typical figures for a high-gas longwall district; airflows in m³/min, distances in m."""

    face_airflow: float = 1200.0
    face_section_m2: float = 12.0
    return_section_m2: float = 10.0
    face_methane_pct: float = 0.35
    """T1 methane between cutting passes (baseline 0.2–0.6 %)."""
    cutting_period_s: float = 5400.0
    cutting_s: float = 3600.0
    cutting_multiplier: float = 1.5
    cutting_build_s: float = 600.0
    """Emission builds over a shearer pass's first minutes as broken coal accumulates."""
    return_corner_factor: float = 1.15
    return_distance_m: float = 500.0
    return_spacing_m: float = 20.0
    intake_methane_pct: float = 0.03
    heading_volume_m3: float = 4500.0
    heading_fan: float = 300.0
    heading_emission: float = 0.9
    heading_section_m2: float = 14.0
    heading_leak: float = 5.0
    heading_return_lag_s: float = 60.0
    district_airflow: float = 2500.0
    district_section_m2: float = 20.0
    district_distance_m: float = 1500.0
    district_background_emission: float = 2.0
    main_airflow: float = 12000.0
    main_section_m2: float = 30.0
    main_distance_m: float = 3000.0
    main_background_emission: float = 40.0
    belt_velocity: float = 2.0
    belt_sensor_spacing_m: float = 400.0
    mixing_fraction: float = 0.05
    """Longitudinal mixing: a wave is smeared with τ = this × its transport lag."""


@dataclass
class _Flows:
    """Methane (m³/min) each area sends to the district return, with the lag it takes to arrive there."""

    district: list[tuple[np.ndarray, float]] = field(default_factory=list)
    district_co: list[np.ndarray] = field(default_factory=list)


class MinePhysics:
    """True atmosphere at every sensor of a coal-mine site, for a timeline and its events."""

    def __init__(self, layout: SiteLayout, params: MineParameters | None = None) -> None:
        self.layout = layout
        self.p = params or MineParameters()

    def render(self, t: np.ndarray, events: list[PhysicsEvent]) -> np.ndarray:
        lay = self.layout
        truth = np.tile(np.array([quiet_value(s) for s in lay.sensors]), (len(t), 1))
        out = {s.sensor: i for i, s in enumerate(lay.sensors)}
        flows = _Flows()

        def put(info: SensorInfo, series: np.ndarray | float) -> None:
            truth[:, out[info.sensor]] = series

        events = [self._resolve_area(e) for e in events]
        for area in lay.site.areas:
            own = [e for e in events if e.area == area.id]
            if area.kind is AreaKind.LONGWALL:
                self._longwall(t, area.id, own, put, flows)
            elif area.kind is AreaKind.HEADING:
                self._heading(t, area.id, [e for e in own if isinstance(e, FanStop)], put, flows)
            elif area.kind is AreaKind.BELT_ROADWAY:
                self._belt(t, area.id, [e for e in own if isinstance(e, BeltFire)], put)
        district_ch4 = self._districts(t, put, flows)
        self._main_return(t, put, district_ch4)
        self._methane_interlocks(truth)
        return truth

    def _resolve_area(self, event: PhysicsEvent) -> PhysicsEvent:
        """Events name their area, or mean the site's first area of the kind they happen in."""
        kind = _AREA_OF.get(type(event))
        if kind is None:
            return event
        return event.model_copy(update={"area": self.layout.area(event.area, kind)})

    # --- areas ----------------------------------------------------------------------------------------

    def _cutting(self, t: np.ndarray) -> np.ndarray:
        p = self.p
        cutting = ((t % p.cutting_period_s) < p.cutting_s).astype(np.float64)
        return signals.first_order(cutting, _dt(t), p.cutting_build_s)

    def _longwall(self, t: np.ndarray, area: str, events: list[PhysicsEvent], put, flows: _Flows) -> None:
        p, lay, dt = self.p, self.layout, _dt(t)
        base = p.face_methane_pct / 100.0 * p.face_airflow
        cutting = self._cutting(t)
        emission = base * (1.0 + (p.cutting_multiplier - 1.0) * cutting)
        velocity_factor = np.ones_like(t)
        co = np.zeros_like(t)
        for e in events:
            if isinstance(e, CuttingSurge):
                shape = signals.ramp(t, e.at, e.ramp_s) - signals.ramp(t, e.at + e.ramp_s + e.duration_s, e.ramp_s)
                emission = emission * (1.0 + (e.multiplier - 1.0) * shape)
            elif isinstance(e, Outburst):
                elapsed = np.maximum(t - e.at, 0.0)
                release = np.where(t >= e.at, e.volume_m3 / e.release_s * np.exp(-elapsed / e.release_s), 0.0)
                emission = emission + 60.0 * release
                velocity_factor = velocity_factor - 1.8 * np.where(t >= e.at, np.exp(-elapsed / 40.0), 0.0)
            elif isinstance(e, SpontaneousCombustion):
                tau = e.duration_s / 3.0
                scale = e.rise_ppm / (np.exp(3.0) - 1.0)
                elapsed = np.clip(t - e.at, 0.0, e.duration_s * 1.5)
                co = co + np.where(t >= e.at, scale * (np.exp(elapsed / tau) - 1.0), 0.0)
        airflow = p.face_airflow * np.maximum(np.abs(velocity_factor), 0.1)
        face = np.minimum(emission / airflow * 100.0, 100.0)
        face_velocity = p.face_airflow / p.face_section_m2 / 60.0
        return_velocity = p.face_airflow / p.return_section_m2 / 60.0
        returns = lay.find(area, SensorKind.CH4, Location.T2) + lay.find(
            area, SensorKind.CH4, Location.LONG_RETURN_MIDDLE
        )
        lag_of = {
            s.sensor: (p.return_distance_m + i * p.return_spacing_m) / return_velocity for i, s in enumerate(returns)
        }
        t2_lag = p.return_distance_m / return_velocity

        def downstream(x: np.ndarray, lag: float) -> np.ndarray:
            return signals.first_order(signals.delayed(x, t, lag), dt, p.mixing_fraction * lag)

        for s in lay.find(area, SensorKind.CH4):
            if s.location is Location.T0:
                put(s, np.minimum(face * p.return_corner_factor, 100.0))
            elif s.location is Location.SHEARER:
                put(s, np.minimum(face * (1.0 + 0.1 * cutting), 100.0))
            elif s.sensor in lag_of:
                put(s, downstream(face, lag_of[s.sensor]))
            elif s.location in (Location.T3, Location.T4):
                put(s, p.intake_methane_pct)
            else:
                put(s, face)
        for s in lay.find(area, SensorKind.CO):
            if s.location is Location.T0:
                put(s, 2.0 + co)
            elif s.location is Location.T2:
                put(s, 1.5 + 0.8 * downstream(co, t2_lag))
        for s in lay.find(area, SensorKind.O2):
            put(s, 20.8 * (1.0 - face / 100.0))
        for s in lay.find(area, SensorKind.CO2):
            put(s, 0.3 + 0.002 * downstream(co, t2_lag))
        for s in lay.find(area, SensorKind.TEMPERATURE):
            put(s, (24.5 if s.location is not Location.T2 else 25.5) + 0.05 * co)
        for s in lay.find(area, SensorKind.AIR_VELOCITY):
            v = return_velocity if s.location is Location.T2 else face_velocity
            put(s, np.abs(v * velocity_factor))
        for s in lay.find(area, SensorKind.H2S):
            put(s, 0.2)
        flows.district.append((emission, (p.district_distance_m - p.return_distance_m) / return_velocity + t2_lag))
        flows.district_co.append(signals.delayed(co * p.face_airflow, t, t2_lag))

    def _heading(self, t: np.ndarray, area: str, stops: list[FanStop], put, flows: _Flows) -> None:
        p, lay = self.p, self.layout
        running = np.ones_like(t)
        for e in stops:
            running *= 1.0 - signals.step_on(t, e.at, None if e.duration_s is None else e.at + e.duration_s)
        airflow = (p.heading_fan * running + p.heading_leak) / 60.0
        c = signals.well_mixed(t, p.heading_emission / 60.0, p.heading_volume_m3, airflow) * 100.0
        stopped = 1.0 - running
        roof = signals.first_order(stopped, _dt(t), 600.0)
        for s in lay.find(area, SensorKind.CH4):
            if s.location is Location.T2:
                put(s, signals.delayed(c, t, p.heading_return_lag_s) * 0.95)
            else:
                put(s, c * (1.0 + 0.1 * roof))
        for s in lay.find(area, SensorKind.AIR_VELOCITY):
            put(s, airflow * 60.0 / p.heading_section_m2 / 60.0)
        for s in lay.find(area, SensorKind.O2):
            put(s, 20.8 * (1.0 - c / 100.0))
        for s in lay.find(area, SensorKind.TEMPERATURE):
            put(s, 23.5 + 1.5 * roof)
        fans = lay.find(area, SensorKind.FAN_STATE)
        for i, s in enumerate(fans):
            put(s, running if i == 0 else 0.0)
        for s in lay.find(area, SensorKind.FEED_STATE):
            put(s, signals.delayed(running, t, 1.0))
        flows.district.append((c / 100.0 * airflow * 60.0, p.heading_return_lag_s + 300.0))

    def _belt(self, t: np.ndarray, area: str, fires: list[BeltFire], put) -> None:
        p, lay = self.p, self.layout
        fire_co = np.zeros_like(t)
        heat = np.zeros_like(t)
        for e in fires:
            fire_co = fire_co + e.co_ppm * signals.exp_rise(t, e.at, e.tau_s)
            heat = heat + signals.exp_rise(t, e.at, 600.0)
        lag = p.belt_sensor_spacing_m / p.belt_velocity
        for i, s in enumerate(lay.find(area, SensorKind.CO)):
            put(s, 1.0 + (0.7**i) * signals.delayed(fire_co, t, i * lag))
        smoke = (signals.delayed(fire_co, t, 60.0) > 10.0).astype(np.float64)
        for s in lay.find(area, SensorKind.SMOKE):
            put(s, smoke)
        for i, s in enumerate(lay.find(area, SensorKind.TEMPERATURE)):
            put(s, 22.0 + (40.0 if i == 0 else 8.0) * heat)
        for s in lay.find(area, SensorKind.AIR_VELOCITY):
            put(s, p.belt_velocity)

    def _districts(self, t: np.ndarray, put, flows: _Flows) -> np.ndarray:
        p, lay, dt = self.p, self.layout, _dt(t)
        ch4 = np.full_like(t, p.district_background_emission)
        for emission, lag in flows.district:
            ch4 = ch4 + signals.first_order(signals.delayed(emission, t, lag), dt, p.mixing_fraction * lag)
        co = sum(flows.district_co, np.zeros_like(t)) / p.district_airflow
        pct = np.minimum(ch4 / p.district_airflow * 100.0, 100.0)
        for area in lay.areas(AreaKind.DISTRICT_RETURN):
            for s in lay.find(area, SensorKind.CH4):
                put(s, pct)
            for s in lay.find(area, SensorKind.CO):
                put(s, 2.0 + co)
            for s in lay.find(area, SensorKind.O2):
                put(s, 20.7 * (1.0 - pct / 100.0))
            for s in lay.find(area, SensorKind.CO2):
                put(s, 0.35)
            for s in lay.find(area, SensorKind.AIR_VELOCITY):
                put(s, p.district_airflow / p.district_section_m2 / 60.0)
            for s in lay.find(area, SensorKind.TEMPERATURE):
                put(s, 24.0)
        return ch4

    def _main_return(self, t: np.ndarray, put, district_ch4: np.ndarray) -> None:
        p, lay, dt = self.p, self.layout, _dt(t)
        velocity = p.main_airflow / p.main_section_m2 / 60.0
        lag = p.main_distance_m / velocity
        arriving = signals.first_order(signals.delayed(district_ch4, t, lag), dt, p.mixing_fraction * lag)
        pct = np.minimum((arriving + p.main_background_emission) / p.main_airflow * 100.0, 100.0)
        for area in lay.areas(AreaKind.MAIN_RETURN):
            for s in lay.find(area, SensorKind.CH4):
                put(s, pct)
            for s in lay.find(area, SensorKind.AIR_VELOCITY):
                put(s, velocity)
            for s in lay.find(area, SensorKind.PRESSURE):
                put(s, 2200.0)
            for i, s in enumerate(lay.find(area, SensorKind.FAN_STATE)):
                put(s, 1.0 if i == 0 else 0.0)
            for s in lay.find(area, SensorKind.FLOW):
                put(s, _counter_or_flow(s, t, p.main_airflow))

    # --- interlocks -----------------------------------------------------------------------------------

    def _methane_interlocks(self, truth: np.ndarray) -> None:
        """A working interlock: an area's feed drops while any of its CH4 sensors is over its cut point.

        The cut is latched until every one is back below its restore value, as the regulations require.
        """
        lay = self.layout
        for area in lay.site.areas:
            feeds = lay.find(area.id, SensorKind.FEED_STATE)
            over = np.zeros(len(truth), dtype=bool)
            clear = np.ones(len(truth), dtype=bool)
            for s in lay.find(area.id, SensorKind.CH4):
                cut = [lv for lv in s.limits.high if lv.action == "power_cut"]
                if cut:
                    column = truth[:, lay.column(s.sensor)]
                    over |= column >= cut[0].value
                    clear &= column < cut[0].reset_value
            if not feeds or not over.any():
                continue
            decided = np.where(over | clear, np.arange(len(truth)), 0)
            last = np.maximum.accumulate(decided)
            cut_now = over[last]
            for s in feeds:
                column = lay.column(s.sensor)
                truth[:, column] = np.minimum(truth[:, column], (~cut_now).astype(np.float64))


def _counter_or_flow(info: SensorInfo, t: np.ndarray, airflow: float) -> np.ndarray:
    """Main-fan counters keep counting (run hours, energy); the air quantity is the main airflow."""
    if info.unit == "h":
        return 12345.6 + t / 3600.0
    if info.unit == "kWh":
        return np.floor(8.2e6 + t * 800.0 / 3600.0)
    return np.full_like(t, airflow)


_AREA_OF = {
    CuttingSurge: AreaKind.LONGWALL,
    Outburst: AreaKind.LONGWALL,
    SpontaneousCombustion: AreaKind.LONGWALL,
    FanStop: AreaKind.HEADING,
    BeltFire: AreaKind.BELT_ROADWAY,
}


def _dt(t: np.ndarray) -> float:
    return float(t[1] - t[0]) if len(t) > 1 else 1.0
