"""How instruments turn the true atmosphere into readings: response time, noise, resolution, range,
and the faults real monitoring systems see (shared/DOMAIN.md §1 anomalies, §4 sensor faults).

Everything works on whole columns of a `Readings` matrix. Faults also mark which readings are
pseudo data (not real atmosphere), which is what the scenario checker uses as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazwatch.config.kinds import BINARY_KINDS, SensorKind
from hazwatch.config.registry import SensorInfo
from hazwatch.quality import Quality
from simulators.physics import signals
from simulators.physics.events import (
    Calibration,
    CommsLoss,
    Drift,
    NoiseGrowth,
    Offset,
    SensitivityLoss,
    SensorFault,
    Spikes,
    Stuck,
)
from simulators.physics.layout import SiteLayout

# T90 response times in seconds (catalytic CH4 ≤ 20 s, electrochemical CO ≈ 30 s; DOMAIN.md §1).
T90_S: dict[SensorKind, float] = {
    SensorKind.CH4: 20.0,
    SensorKind.CO: 30.0,
    SensorKind.H2S: 30.0,
    SensorKind.NH3: 30.0,
    SensorKind.NO2: 30.0,
    SensorKind.SO2: 30.0,
    SensorKind.CL2: 30.0,
    SensorKind.O2: 15.0,
    SensorKind.CO2: 20.0,
    SensorKind.LEL: 15.0,
    SensorKind.TEMPERATURE: 10.0,
}

# Noise standard deviation in the sensor's unit (CH4 σ ≈ 0.01–0.02 %), and display resolution.
NOISE: dict[SensorKind, float] = {
    SensorKind.CH4: 0.012,
    SensorKind.CO: 0.4,
    SensorKind.O2: 0.03,
    SensorKind.CO2: 0.01,
    SensorKind.H2S: 0.1,
    SensorKind.NH3: 0.5,
    SensorKind.NO2: 0.05,
    SensorKind.SO2: 0.05,
    SensorKind.CL2: 0.01,
    SensorKind.LEL: 0.4,
    SensorKind.TEMPERATURE: 0.05,
    SensorKind.AIR_VELOCITY: 0.03,
    SensorKind.LEVEL: 0.1,
}
DECIMALS: dict[SensorKind, int] = {
    SensorKind.CH4: 2,
    SensorKind.O2: 2,
    SensorKind.CO2: 2,
    SensorKind.CO: 1,
    SensorKind.H2S: 1,
    SensorKind.NH3: 1,
    SensorKind.LEL: 1,
    SensorKind.TEMPERATURE: 1,
    SensorKind.AIR_VELOCITY: 2,
}
CALIBRATION_FLAG_TAIL_S = 90.0
"""The calibration flag stays on while the sensor recovers from the test gas."""


@dataclass
class Readings:
    """What the site's instruments report: rows are time steps, columns are the layout's sensors."""

    time_s: np.ndarray
    values: np.ndarray
    quality: np.ndarray
    pseudo: np.ndarray
    """True where a fault put in something that is not real atmosphere (spike, stuck, test gas)."""
    arrival_s: np.ndarray
    """When the reading reaches the collector: its own time, later when back-filled, NaN if never."""
    backfilled: np.ndarray


def noise_sigma(info: SensorInfo, typical: float) -> float:
    if info.kind in NOISE:
        return NOISE[info.kind]
    if info.kind in BINARY_KINDS or info.unit in ("h", "kWh"):
        return 0.0
    return 0.002 * max(abs(typical), 1e-3)


def measure(layout: SiteLayout, time_s: np.ndarray, truth: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Instrument response (T90 first-order lag) and per-sensor noise; returns (clean response, noise)."""
    dt = float(time_s[1] - time_s[0]) if len(time_s) > 1 else 1.0
    response = truth.copy()
    noise = np.zeros_like(truth)
    for i, info in enumerate(layout.sensors):
        tau = T90_S.get(info.kind, 0.0) / np.log(10.0)
        response[:, i] = signals.first_order(truth[:, i], dt, tau)
        sigma = noise_sigma(info, float(np.median(truth[:, i])))
        if sigma > 0:
            rng = np.random.default_rng([seed, i])
            noise[:, i] = sigma * rng.standard_normal(len(time_s))
    return response, noise


def finish(layout: SiteLayout, values: np.ndarray) -> np.ndarray:
    """Clamp to the instrument's range (it saturates at full scale) and round to its display resolution."""
    out = np.clip(values, layout_ranges(layout)[0], layout_ranges(layout)[1])
    for i, info in enumerate(layout.sensors):
        decimals = DECIMALS.get(info.kind)
        if decimals is not None:
            out[:, i] = np.round(out[:, i], decimals)
        elif info.kind in BINARY_KINDS:
            out[:, i] = np.round(out[:, i])
    return out


def layout_ranges(layout: SiteLayout) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([s.range_min for s in layout.sensors]),
        np.array([s.range_max for s in layout.sensors]),
    )


def apply_value_faults(
    layout: SiteLayout, time_s: np.ndarray, response: np.ndarray, noise: np.ndarray, faults: list[SensorFault]
) -> np.ndarray:
    """Faults that change how a working sensor reads: sensitivity, drift, offset, noise growth.

    These readings still look real, so they are not marked pseudo data: a drifting sensor must be
    caught by the trend rules, and its readings over a limit are over-limits like any other.
    """
    values = response.copy()
    for fault in faults:
        if isinstance(fault, SensitivityLoss):
            i = layout.column(fault.sensor)
            clean = float(np.median(response[time_s < fault.at, i])) if (time_s < fault.at).any() else 0.0
            factor = 1.0 - (1.0 - fault.to) * signals.ramp(time_s, fault.at, fault.over_s)
            values[:, i] = clean + (values[:, i] - clean) * factor
        elif isinstance(fault, Drift):
            i = layout.column(fault.sensor)
            values[:, i] += fault.per_hour / 3600.0 * np.maximum(time_s - fault.at, 0.0)
        elif isinstance(fault, Offset):
            i = layout.column(fault.sensor)
            values[:, i] += fault.offset * signals.step_on(time_s, fault.at)
        elif isinstance(fault, NoiseGrowth):
            i = layout.column(fault.sensor)
            noise[:, i] *= 1.0 + (fault.factor - 1.0) * signals.step_on(time_s, fault.at)
    return values + noise


def apply_reading_faults(layout: SiteLayout, readings: Readings, faults: list[SensorFault], seed: int) -> None:
    """Faults that replace readings (spikes, stuck, calibration gas) or their delivery (comms loss)."""
    t = readings.time_s
    dt = float(t[1] - t[0]) if len(t) > 1 else 1.0
    for n, fault in enumerate(faults):
        if isinstance(fault, Spikes):
            i = layout.column(fault.sensor)
            rng = np.random.default_rng([seed, 104729, n])
            window = np.flatnonzero((t >= fault.at) & (t < fault.at + fault.duration_s))
            count = max(1, round(fault.per_hour * fault.duration_s / 3600.0))
            candidates = window[:-2:4]
            starts = np.sort(rng.choice(candidates, size=min(count, len(candidates)), replace=False))
            info = layout.sensors[i]
            full = info.range_min + fault.fraction * (info.range_max - info.range_min)
            for k, start in enumerate(starts):
                rows = slice(start, start + 1 + (k % 2))
                readings.values[rows, i] = full * rng.uniform(0.97, 1.0)
                readings.pseudo[rows, i] = True
        elif isinstance(fault, Stuck):
            i = layout.column(fault.sensor)
            rows = (t >= fault.at) & (True if fault.duration_s is None else t < fault.at + fault.duration_s)
            first = int(np.argmax(rows))
            frozen = readings.values[max(first - 1, 0), i] if fault.value is None else fault.value
            readings.values[rows, i] = frozen
            readings.pseudo[rows, i] = True
        elif isinstance(fault, Calibration):
            i = layout.column(fault.sensor)
            info = layout.sensors[i]
            tau = T90_S.get(info.kind, 20.0) / np.log(10.0)
            gas_on = fault.at + 10.0
            applied = signals.step_on(t, gas_on, gas_on + fault.duration_s)
            response = signals.first_order(applied, dt, tau)
            flagged = (t >= fault.at) & (t < gas_on + fault.duration_s + CALIBRATION_FLAG_TAIL_S)
            column = readings.values[:, i]
            readings.values[:, i] = np.where(flagged, column + (fault.gas - column) * response, column)
            readings.quality[flagged, i] = Quality.CALIBRATION
            readings.pseudo[flagged, i] = True
        elif isinstance(fault, CommsLoss):
            end = fault.at + fault.duration_s
            rows = (t >= fault.at) & (t < end)
            for sensor_id in layout.device_sensors(fault.device):
                i = layout.column(sensor_id)
                if fault.backfill:
                    readings.arrival_s[rows, i] = end
                    readings.backfilled[rows, i] = True
                else:
                    readings.arrival_s[rows, i] = np.nan
