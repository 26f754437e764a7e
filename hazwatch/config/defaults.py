"""Default limits by sensor kind and location, from the regulations summarised in shared/DOMAIN.md.

Sources: Coal Mine Safety Regulations Art. 498 and AQ 1029-2019 (methane by location, other
mine air limits), GB/T 50493-2019 §5.5.2 (plant combustible / toxic / oxygen set-points),
ISA-18.2 practice (deadbands and delays). Figures marked (u) in DOMAIN.md are unconfirmed
and are only defaults: every site can override them in its config.
"""

from __future__ import annotations

import functools

from hazwatch.config.kinds import AreaKind, Location, SensorKind, SiteType
from hazwatch.config.limits import LimitLevel, Limits

# (alarm, power-cut, restore); None where the table has no power-cut point.
_Methane = tuple[float, float | None, float]

METHANE_BY_LOCATION: dict[tuple[AreaKind, Location | None], _Methane] = {
    (AreaKind.LONGWALL, Location.T0): (1.0, 1.5, 1.0),
    (AreaKind.LONGWALL, Location.T1): (1.0, 1.5, 1.0),
    (AreaKind.LONGWALL, Location.SHEARER): (1.0, 1.5, 1.0),
    (AreaKind.LONGWALL, Location.T2): (1.0, 1.0, 1.0),
    (AreaKind.LONGWALL, Location.LONG_RETURN_MIDDLE): (1.0, 1.0, 1.0),
    (AreaKind.LONGWALL, Location.T3): (0.5, 0.5, 0.5),
    (AreaKind.LONGWALL, Location.T4): (0.5, 0.5, 0.5),
    (AreaKind.HEADING, Location.T1): (1.0, 1.5, 1.0),
    (AreaKind.HEADING, Location.T2): (1.0, 1.0, 1.0),
    (AreaKind.DISTRICT_RETURN, None): (1.0, 1.0, 1.0),
    (AreaKind.MAIN_RETURN, None): (0.70, None, 0.70),
    (AreaKind.COAL_BUNKER, None): (1.5, 1.5, 1.5),
    (AreaKind.BELT_RETURN, None): (0.5, 0.7, 0.7),
    (AreaKind.DRAINAGE_PUMP_ROOM, None): (0.5, None, 0.5),
}
"""Methane alarm / power-cut / restore (% CH4) by (area kind, location); Art. 498 table."""

# GB/T 50493 toxic set-points in ppm at 20 °C: (level 1, level 2).
PLANT_TOXIC_PPM: dict[SensorKind, tuple[float, float]] = {
    SensorKind.H2S: (7.1, 14.1),
    SensorKind.CO: (17.2, 34.3),
    SensorKind.NH3: (28.2, 56.5),
    SensorKind.CL2: (0.34, 0.68),
    SensorKind.SO2: (1.9, 3.8),
    SensorKind.NO2: (2.6, 5.3),
}

MINE_TOXIC_PPM: dict[SensorKind, float] = {
    SensorKind.CO: 24.0,
    SensorKind.H2S: 6.6,
    SensorKind.NO2: 2.5,
    SensorKind.SO2: 5.0,
    SensorKind.NH3: 40.0,
}

# Exposure limits (ppm at 20 °C) for the rolling TWA (8 h) and STEL (15 min) detectors: (TWA, STEL).
EXPOSURE_LIMITS_PPM: dict[SensorKind, tuple[float, float]] = {
    SensorKind.CO: (17.2, 25.8),
    SensorKind.NH3: (28.2, 42.3),
    SensorKind.SO2: (1.9, 3.8),
    SensorKind.NO2: (2.6, 5.3),
    SensorKind.H2S: (7.1, 7.1),
    SensorKind.CL2: (0.34, 0.34),
}
"""GBZ 2.1 PC-TWA / PC-STEL; for gases with only a MAC (H2S, Cl2) the MAC serves as both."""

AIR_VELOCITY_BY_AREA: dict[AreaKind, tuple[float, float]] = {
    AreaKind.LONGWALL: (0.25, 4.0),
    AreaKind.HEADING: (0.25, 4.0),
    AreaKind.BELT_ROADWAY: (0.25, 6.0),
    AreaKind.BELT_RETURN: (0.25, 6.0),
    AreaKind.DISTRICT_RETURN: (0.25, 6.0),
    AreaKind.INTAKE: (0.25, 6.0),
    AreaKind.MAIN_RETURN: (0.0, 8.0),
}


GAS_DEADBAND = 0.05
"""Gas alarms clear 5 % below their limit: about the detectors' own accuracy (±5 % of reading), so sensor
noise around a limit cannot chatter (ISA-18.2 deadband practice; tunable per sensor)."""


def _gas(level: int, name: str, value: float, **extra: object) -> LimitLevel:
    return LimitLevel(level=level, name=name, value=value, reset=round(value * (1 - GAS_DEADBAND), 4), **extra)


def _high(*levels: LimitLevel) -> Limits:
    return Limits(high=list(levels))


def methane_limits(area: AreaKind, location: Location | None) -> Limits:
    """Alarm (level 1) and latched power-cut (level 2, no delay) for a methane sensor at this location."""
    entry = METHANE_BY_LOCATION.get((area, location)) or METHANE_BY_LOCATION.get((area, None))
    if entry is None:
        entry = (1.0, 1.5, 1.0) if location in (Location.T0, Location.T1) else (1.0, 1.0, 1.0)
    alarm, cut, restore = entry
    levels = [LimitLevel(level=1, name="alarm", value=alarm, reset=min(alarm, restore), priority="high")]
    if cut is not None:
        levels.append(
            LimitLevel(
                level=2,
                name="power_cut",
                value=cut,
                reset=restore,
                latch=True,
                priority="critical",
                action="power_cut",
            )
        )
    return _high(*levels)


@functools.cache
def default_limits(site: SiteType, area: AreaKind, kind: SensorKind, location: Location | None) -> Limits:
    """The limits a sensor gets when its config gives none; empty where no rule applies.

    Cached: a province has ~600k sensors but a few dozen (site, area, kind, location) combinations, and
    the frozen Limits can be shared, which saves ~1.9 KB and ~30 µs per sensor in the registry.
    """
    if kind is SensorKind.CH4:
        return methane_limits(area, location)
    if site is SiteType.COAL_MINE:
        return _mine_limits(area, kind, location)
    return _plant_limits(kind)


def _mine_limits(area: AreaKind, kind: SensorKind, location: Location | None) -> Limits:
    if kind in MINE_TOXIC_PPM:
        return _high(_gas(1, "alarm", MINE_TOXIC_PPM[kind], priority="high"))
    if kind is SensorKind.O2:
        return Limits(low=[LimitLevel(level=1, name="low_oxygen", value=18.5, reset=19.0, priority="high")])
    if kind is SensorKind.CO2:
        returnish = area in (AreaKind.DISTRICT_RETURN, AreaKind.MAIN_RETURN) or location is Location.T2
        return _high(_gas(1, "alarm", 1.5 if returnish else 0.5, priority="medium"))
    if kind is SensorKind.TEMPERATURE:
        if area is AreaKind.CHAMBER:
            return _high(
                LimitLevel(level=1, name="warning", value=30.0, reset=29.5, on_delay=60, priority="medium"),
                LimitLevel(level=2, name="alarm", value=34.0, reset=33.5, on_delay=10, priority="high"),
            )
        if area in (AreaKind.LONGWALL, AreaKind.HEADING):
            return _high(
                LimitLevel(level=1, name="warning", value=26.0, reset=25.5, on_delay=60, priority="low"),
                LimitLevel(level=2, name="alarm", value=30.0, reset=29.5, on_delay=10, priority="high"),
            )
        return Limits()
    if kind is SensorKind.AIR_VELOCITY:
        low, high = AIR_VELOCITY_BY_AREA.get(area, (0.25, 6.0))
        limits = Limits(
            high=[LimitLevel(level=1, name="high_velocity", value=high, on_delay=15, priority="medium")]
        )
        if low > 0:
            limits = Limits(
                high=limits.high,
                low=[
                    LimitLevel(
                        level=1,
                        name="low_velocity",
                        value=low,
                        reset=low * 1.05,
                        on_delay=15,
                        priority="high",
                    )
                ],
            )
        return limits
    if kind is SensorKind.SMOKE:
        return _high(LimitLevel(level=2, name="smoke", value=0.5, reset=0.5, latch=True, priority="critical"))
    return Limits()


def _plant_limits(kind: SensorKind) -> Limits:
    if kind is SensorKind.LEL:
        return _high(
            _gas(1, "level1", 25.0, priority="high"),
            _gas(2, "level2", 50.0, priority="critical", action="evacuate"),
        )
    if kind in PLANT_TOXIC_PPM:
        first, second = PLANT_TOXIC_PPM[kind]
        return _high(
            _gas(1, "level1", first, priority="high"),
            _gas(2, "level2", second, priority="critical", action="evacuate"),
        )
    if kind is SensorKind.O2:
        return Limits(
            high=[LimitLevel(level=1, name="enriched", value=23.5, reset=23.0, priority="high")],
            low=[LimitLevel(level=2, name="deficient", value=19.5, reset=20.0, priority="critical")],
        )
    if kind is SensorKind.SMOKE:
        return _high(LimitLevel(level=2, name="smoke", value=0.5, reset=0.5, latch=True, priority="critical"))
    return Limits()
