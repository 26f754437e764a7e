"""The one place that turns the site config and the sensor registry into detector parameter arrays.

Detectors know only numpy arrays and names (no config, no I/O); this module reads every sensor's limits
and `detect` settings, fills in the per-kind defaults (hazwatch/config/detection.py, defaults.py) and
builds the stack `hazwatch run`, the demo and replay all use.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from typing import overload

import numpy as np

from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from detectors.engine.stack import DetectorStack, Lifecycle
from detectors.rules.clock import BAD_VALUE, CLOCK, RefusedReadings
from detectors.rules.exposure import ExposureDetector, ExposureParams
from detectors.rules.health import HealthDetector, HealthParams
from detectors.rules.multisensor import MultiParams, MultiSensorDetector, RunawaySpec, VentilationSpec, VoteSpec
from detectors.rules.multivariate_rule import MultivariateRule, MultivariateSpec
from detectors.rules.threshold import LevelSpec, LevelTable, ThresholdDetector
from detectors.rules.trend import TrendDetector, TrendParams
from hazwatch.config.defaults import EXPOSURE_LIMITS_PPM
from hazwatch.config.detection import (
    ANALOG_KINDS,
    EXPOSURE_KINDS,
    FORECAST,
    RATE_OF_RISE,
    SPIKE_HOLD_S,
    SPIKE_JUMP_FRACTION,
    STUCK_AFTER_S,
    MultivariateGroup,
    RunawayGroup,
    VentilationGroup,
    VoteGroup,
)
from hazwatch.config.kinds import GAS_KINDS, SensorKind
from hazwatch.config.limits import LimitLevel
from hazwatch.config.registry import SensorInfo, SensorRegistry
from hazwatch.config.schema import HazwatchConfig

log = RateLimitedLog(logging.getLogger("hazwatch.detectors"))

FORECAST_POINTS = 16
"""Block means per forecast window: enough pairs for a robust median, few enough to stay cheap."""
ZERO_BAND_FRACTION = 0.0025
"""'Reads zero' for the tampering check: within 0.25 % of the range (0.01 % on a 0–4 % CH4 head)."""


class SensorText(Sequence[str]):
    """A text per sensor (its label, its unit), made from the registry when a message needs it: a string per
    sensor held by every rule cost ~130 bytes/sensor at province scale (docs/performance.md)."""

    def __init__(self, registry: SensorRegistry, text: Callable[[SensorInfo], str]) -> None:
        self.registry = registry
        self.text = text

    def __len__(self) -> int:
        return len(self.registry)

    @overload
    def __getitem__(self, slot: int) -> str: ...

    @overload
    def __getitem__(self, slot: slice) -> list[str]: ...

    def __getitem__(self, slot: int | slice) -> str | list[str]:
        if isinstance(slot, slice):
            return [self[i] for i in range(len(self))[slot]]
        return self.text(self.registry.sensors[slot])


def labels_of(registry: SensorRegistry) -> SensorText:
    """How messages name a sensor: 'CH4 at LW-CH4-T1'."""
    return SensorText(registry, lambda s: f"{s.kind.value} at {s.sensor}")


def units_of(registry: SensorRegistry) -> SensorText:
    return SensorText(registry, lambda s: s.unit)


def level_specs(levels: list[LimitLevel]) -> list[LevelSpec]:
    return [
        LevelSpec(
            level=lv.level,
            name=lv.name,
            value=lv.value,
            reset=lv.reset_value,
            on_delay_s=lv.on_delay,
            off_delay_s=lv.off_delay,
            latch=lv.latch,
            priority=lv.priority,
            action=lv.action,
        )
        for lv in levels
    ]


@functools.cache
def shared_level_specs(levels: tuple[LimitLevel, ...]) -> tuple[LevelSpec, ...]:
    """Sensors with the same limits share one set of specs: a province has 600k sensors but a few dozen
    distinct limit sets, and a spec object per sensor cost ~150 bytes each (benchmarks, docs/performance.md)."""
    return tuple(level_specs(list(levels)))


def first_high_limit(info: SensorInfo) -> float:
    values = [lv.value for lv in info.limits.high]
    return min(values) if values else math.inf


def threshold_detector(registry: SensorRegistry) -> ThresholdDetector:
    high = LevelTable([shared_level_specs(tuple(s.limits.high)) for s in registry])
    low = LevelTable([shared_level_specs(tuple(s.limits.low)) for s in registry])
    return ThresholdDetector(high, low, labels_of(registry), units_of(registry))


def offline_after_s(info: SensorInfo) -> float:
    return info.poll_interval * info.detect.offline_after_intervals if info.detect.wants("offline") else math.nan


def health_params(registry: SensorRegistry, config: HazwatchConfig) -> HealthParams:
    sensors = list(registry)
    span = registry.range_max - registry.range_min
    devices: dict[tuple[str, str], int] = {}
    device_of = np.full(len(sensors), -1, dtype=np.int64)
    for s in sensors:
        if s.device is not None:
            device_of[s.slot] = devices.setdefault((s.site, s.device), len(devices))

    def stuck(s: SensorInfo) -> float:
        if not s.detect.wants("stuck") or s.kind not in STUCK_AFTER_S:
            return math.nan
        return s.detect.stuck_after_s or STUCK_AFTER_S[s.kind]

    def spike(s: SensorInfo) -> float:
        wanted = s.detect.spikes if s.detect.spikes is not None else s.kind in ANALOG_KINDS
        if not wanted or not s.detect.wants("spikes"):
            return math.nan
        return (s.detect.spike_jump_fraction or SPIKE_JUMP_FRACTION) * (s.range_max - s.range_min)

    paths: list[list[int]] = []
    names: list[str] = []
    for site in config.sites:
        for area in site.areas:
            for i, path in enumerate(area.airflow_paths):
                slots = [registry.slot(site.id, ref) for ref in path]
                paths.append([slot for slot in slots if slot is not None])
                names.append(f"{site.id}/{area.id} path {i + 1}")
    in_range = np.array([s.detect.wants("range") for s in sensors], dtype=bool)
    return HealthParams(
        range_min=np.where(in_range, registry.range_min, -np.inf),
        range_max=np.where(in_range, registry.range_max, np.inf),
        range_margin=np.array([s.detect.range_margin_fraction for s in sensors]) * span,
        overrange_is_fault=np.array([s.kind not in GAS_KINDS for s in sensors], dtype=bool),
        stuck_after_s=np.array([stuck(s) for s in sensors]),
        stuck_tolerance=np.zeros(len(sensors)),
        spike_jump=np.array([spike(s) for s in sensors]),
        spike_hold_s=np.full(len(sensors), SPIKE_HOLD_S),
        offline_after_s=np.array([offline_after_s(s) for s in sensors]),
        long_offline_after_s=np.array([s.detect.long_offline_after_s for s in sensors]),
        device=device_of,
        device_names=[f"{site}/{device}" for site, device in devices],
        airflow_paths=paths,
        path_names=names,
        path_alarm=np.array([first_high_limit(s) for s in sensors]),
        zero_band=ZERO_BAND_FRACTION * span,
    )


def trend_params(registry: SensorRegistry) -> TrendParams:
    n = len(registry)
    block_s = np.full(n, 60.0)
    rate_limit = np.full(n, np.nan)
    rate_blocks = np.zeros(n, dtype=np.int64)
    target = np.full(n, np.nan)
    forecast_blocks = np.zeros(n, dtype=np.int64)
    horizon = np.full(n, np.nan)
    drift_k = np.full(n, np.nan)
    drift_h = np.full(n, np.nan)
    baseline_s = np.full(n, 3600.0)
    sigma_floor = np.zeros(n)
    warmup = np.zeros(n, dtype=np.int64)
    freeze = np.full(n, np.inf)
    for s in registry:
        d = s.detect
        rate = (d.rate_of_rise or RATE_OF_RISE.get(s.kind)) if d.wants("rate_of_rise") else None
        forecast = (d.forecast or FORECAST.get(s.kind)) if d.wants("forecast") else None
        limit = first_high_limit(s)
        if forecast is not None and math.isfinite(limit):
            block_s[s.slot] = forecast.window_s / (FORECAST_POINTS - 1)
            forecast_blocks[s.slot] = FORECAST_POINTS
            target[s.slot] = limit
            horizon[s.slot] = forecast.horizon_s
        elif rate is not None:
            block_s[s.slot] = rate.window_s / 4
        elif d.drift is not None:
            block_s[s.slot] = d.drift.block_s
        if rate is not None:
            rate_limit[s.slot] = rate.limit_per_min
            rate_blocks[s.slot] = max(1, round(rate.window_s / block_s[s.slot]))
        if d.drift is not None and d.wants("drift"):
            drift_k[s.slot], drift_h[s.slot] = d.drift.k, d.drift.h
            baseline_s[s.slot] = d.drift.baseline_s
            warmup[s.slot] = d.drift.warmup_blocks
            sigma_floor[s.slot] = d.drift.sigma_floor or 0.005 * (s.range_max - s.range_min)
        freeze[s.slot] = limit
    return TrendParams(
        block_s=block_s,
        rate_limit_per_min=rate_limit,
        rate_blocks=rate_blocks,
        forecast_target=target,
        forecast_blocks=forecast_blocks,
        forecast_horizon_s=horizon,
        drift_k=drift_k,
        drift_h=drift_h,
        drift_baseline_s=baseline_s,
        drift_sigma_floor=sigma_floor,
        drift_warmup_blocks=warmup,
        freeze_above=freeze,
    )


def exposure_params(registry: SensorRegistry) -> ExposureParams:
    n = len(registry)
    stel = np.full(n, np.nan)
    twa = np.full(n, np.nan)
    for s in registry:
        wanted = s.detect.exposure if s.detect.exposure is not None else s.kind in EXPOSURE_KINDS
        if wanted and s.detect.wants("exposure") and s.kind in EXPOSURE_LIMITS_PPM:
            twa[s.slot], stel[s.slot] = EXPOSURE_LIMITS_PPM[s.kind]
    gap = np.array([offline_after_s(s) for s in registry])
    return ExposureParams(stel_limit=stel, twa_limit=twa, max_gap_s=np.where(np.isfinite(gap), gap, 60.0))


def multi_params(registry: SensorRegistry, config: HazwatchConfig) -> MultiParams:
    ventilation: list[VentilationSpec] = []
    runaway: list[RunawaySpec] = []
    vote: list[VoteSpec] = []
    for site in config.sites:

        def slot(ref: str, site_id: str = site.id) -> int:
            found = registry.slot(site_id, ref)
            if found is None:
                raise ValueError(f"group refers to unknown sensor {site_id}/{ref}")
            return found

        for group in site.groups:
            if isinstance(group, VentilationGroup):
                ventilation.append(
                    VentilationSpec(
                        name=group.name,
                        methane=slot(group.methane),
                        velocity=slot(group.air_velocity),
                        methane_rate_per_min=group.methane_rate_per_min,
                        velocity_drop_fraction=group.velocity_drop_fraction,
                        window_s=group.window_s,
                        baseline_s=group.baseline_s,
                    )
                )
            elif isinstance(group, RunawayGroup):
                pressure = registry.sensors[slot(group.pressure)]
                runaway.append(
                    RunawaySpec(
                        name=group.name,
                        temperature=slot(group.temperature),
                        pressure=pressure.slot,
                        pressure_span=pressure.range_max - pressure.range_min,
                        temperature_rate_per_min=group.temperature_rate_per_min,
                        pressure_rate_per_min=group.pressure_rate_per_min,
                        window_s=group.window_s,
                    )
                )
            elif isinstance(group, VoteGroup):
                members = tuple(slot(ref) for ref in group.sensors)
                first = registry.sensors[members[0]]
                vote.append(
                    VoteSpec(
                        name=group.name,
                        members=members,
                        levels=level_specs(first.limits.high),
                        stale_after_s=first.poll_interval * group.stale_after_intervals,
                        unit=first.unit,
                    )
                )
    return MultiParams(ventilation=ventilation, runaway=runaway, vote=vote)


def held_after_s(info: SensorInfo) -> float:
    """A unit-model member counts as held once the health rule would call it offline (3 polls if that is off)."""
    after = offline_after_s(info)
    return after if math.isfinite(after) else 3 * info.poll_interval


def multivariate_specs(registry: SensorRegistry, config: HazwatchConfig) -> list[MultivariateSpec]:
    """Temperatures enter as rates: a unit warms for minutes after start-up, so its temperature level soon
    leaves any calibration window while its rate stays comparable (docs/evaluation.md)."""
    specs: list[MultivariateSpec] = []
    labels = labels_of(registry)
    for site in config.sites:
        for group in site.groups:
            if not isinstance(group, MultivariateGroup):
                continue
            members = []
            for ref in group.sensors:
                found = registry.slot(site.id, ref)
                if found is None:
                    raise ValueError(f"group refers to unknown sensor {site.id}/{ref}")
                members.append(found)
            specs.append(
                MultivariateSpec(
                    name=group.name,
                    members=tuple(members),
                    fit_samples=group.fit_samples,
                    rate_channels=tuple(
                        i for i, slot in enumerate(members) if registry.sensors[slot].kind is SensorKind.TEMPERATURE
                    ),
                    labels=tuple(labels[slot] for slot in members),
                    stale_after_s=max(held_after_s(registry.sensors[slot]) for slot in members),
                )
            )
    return specs


def count_skipped(reason: str, rows: int) -> None:
    metrics.DETECTOR_ROWS_SKIPPED.labels(reason).inc(rows)
    log.warning(f"skipped:{reason}", "%d readings kept out of detection: %s", rows, reason)


def build_detector_stack(registry: SensorRegistry, config: HazwatchConfig, lifecycle: Lifecycle) -> DetectorStack:
    labels, units = labels_of(registry), units_of(registry)
    rules = [
        HealthDetector(health_params(registry, config), labels, units),
        threshold_detector(registry),
        ExposureDetector(exposure_params(registry), labels, units),
        TrendDetector(trend_params(registry), labels, units),
        MultiSensorDetector(len(registry), multi_params(registry, config)),
        MultivariateRule(len(registry), multivariate_specs(registry, config)),
        RefusedReadings(labels, CLOCK, config.intake.refused_alarm_after),
        RefusedReadings(labels, BAD_VALUE, config.intake.refused_alarm_after),
    ]
    return DetectorStack(len(registry), rules, lifecycle, on_bad_input=count_skipped)
