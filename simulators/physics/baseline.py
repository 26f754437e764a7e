"""Quiet-day readings by sensor kind: what every sensor shows when nothing is happening near it."""

from __future__ import annotations

from hazwatch.config.kinds import SensorKind
from hazwatch.config.registry import SensorInfo

_CLEAN_AIR: dict[SensorKind, float] = {
    SensorKind.CH4: 0.05,
    SensorKind.CO: 1.0,
    SensorKind.O2: 20.8,
    SensorKind.CO2: 0.08,
    SensorKind.H2S: 0.3,
    SensorKind.NH3: 2.0,
    SensorKind.NO2: 0.1,
    SensorKind.SO2: 0.1,
    SensorKind.CL2: 0.02,
    SensorKind.LEL: 0.5,
    SensorKind.LEVEL: 55.0,
    SensorKind.AIR_VELOCITY: 1.5,
    SensorKind.SMOKE: 0.0,
    SensorKind.FAN_STATE: 1.0,
    SensorKind.FEED_STATE: 1.0,
    SensorKind.DOOR: 0.0,
}


def quiet_value(info: SensorInfo) -> float:
    """A plausible normal reading, well inside the sensor's limits and range."""
    if info.kind in _CLEAN_AIR:
        return _CLEAN_AIR[info.kind]
    highs = [lv.value for lv in info.limits.high]
    lows = [lv.value for lv in info.limits.low]
    if highs and lows:
        return (min(highs) + max(lows)) / 2.0
    if highs:
        floor = max(info.range_min, 0.0)
        return floor + 0.55 * (min(highs) - floor)
    if lows:
        return max(lows) + 0.4 * (info.range_max - max(lows))
    if info.kind is SensorKind.TEMPERATURE:
        return 22.0
    return info.range_min + 0.4 * (info.range_max - info.range_min)
