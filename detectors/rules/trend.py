"""Trend rules on block means: rate of rise, drift from a learned baseline, and a time-to-limit forecast.

All three are evaluated when a block closes (see blocks.py), so they cost nothing between blocks and give
the same answer for any batching.

- trend.rate: rise between the newest block and the one `rate_blocks` earlier, per minute, against a limit
  (reactor dT/dt, CO ppm/h, CH4 %/min). Clears below half the limit.
- trend.drift: two-sided CUSUM of block means against an EWMA baseline (Page 1954). The baseline is learned
  only while the rule is quiet and the value is below the sensor's first alarm limit, so a slow leak or a
  drifting sensor cannot teach the detector that the new level is normal.
- trend.forecast: Theil–Sen slope (median of pairwise slopes, robust to the odd spike) over the window's
  blocks; warns when the first high limit is forecast within the horizon and has not been reached yet.
  An ordinary least-squares slope screens sensors first, so the median runs only for a handful of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from detectors.alarms.conditions import ConditionChange
from detectors.engine.blocks import BlockSeries, ols_slope
from detectors.engine.declaration import Parameter, Phase, RuleDeclaration
from detectors.engine.frame import Frame, Series
from detectors.engine.rule import Rule
from detectors.engine.setup import Setup
from detectors.false_alarm import two_sided_cusum_h
from hazwatch.config.detection import Drift, Forecast, RateOfRise
from hazwatch.config.kinds import GAS_KINDS, SensorKind
from hazwatch.config.limits import first_high_limit

RATE = "trend.rate"
DRIFT = "trend.drift"
FORECAST = "trend.forecast"

_MIN_FORECAST_BLOCKS = 6

RATE_OF_RISE_DEFAULTS: dict[SensorKind, RateOfRise] = {
    SensorKind.CH4: RateOfRise(limit_per_min=0.2, window_s=60.0),
    SensorKind.CO: RateOfRise(limit_per_min=5.0 / 60.0, window_s=1800.0),
    SensorKind.TEMPERATURE: RateOfRise(limit_per_min=0.5, window_s=60.0),
}
"""CH4 %/min (outburst, fan stop), CO 5 ppm/h (spontaneous combustion), dT/dt 0.5 °C/min (runaway onset)."""

FORECAST_DEFAULTS: dict[SensorKind, Forecast] = {
    **dict.fromkeys(
        (GAS_KINDS - {SensorKind.O2, SensorKind.CO}) | {SensorKind.TEMPERATURE, SensorKind.PRESSURE, SensorKind.LEVEL},
        Forecast(),
    ),
    SensorKind.CO: Forecast(horizon_s=3600.0, window_s=1800.0),
}
"""Time-to-limit warnings: 15 min ahead from a 5 min window; CO creeps, so 1 h ahead from 30 min."""

FORECAST_POINTS = 16
"""Block means per forecast window: enough pairs for a robust median, few enough to stay cheap."""


@dataclass(frozen=True)
class TrendParams:
    """Per-slot arrays; NaN (or 0 blocks) switches a rule off for a slot."""

    block_s: np.ndarray
    rate_limit_per_min: np.ndarray
    rate_blocks: np.ndarray
    forecast_target: np.ndarray
    """The limit the forecast aims at (the sensor's first high limit)."""
    forecast_blocks: np.ndarray
    forecast_horizon_s: np.ndarray
    drift_k: np.ndarray
    drift_h: np.ndarray
    drift_baseline_s: np.ndarray
    drift_sigma_floor: np.ndarray
    drift_warmup_blocks: np.ndarray
    freeze_above: np.ndarray
    """The baseline is not learned from values at or above this (the first alarm limit)."""


class TrendDetector(Rule):
    def __init__(self, params: TrendParams, labels: Sequence[str], units: Sequence[str] | None = None) -> None:
        p = params
        n = len(labels)
        self.n_slots = n
        self.labels = labels
        self.units = units if units is not None else [""] * n
        rate_on = np.isfinite(p.rate_limit_per_min)
        forecast_on = np.isfinite(p.forecast_target) & (p.forecast_blocks >= _MIN_FORECAST_BLOCKS)
        drift_on = np.isfinite(p.drift_h)
        members = np.flatnonzero(rate_on | forecast_on | drift_on)
        self.members = members
        longest = max(np.max(p.forecast_blocks[members], initial=0), np.max(p.rate_blocks[members], initial=0) + 1)
        depth = int(max(16, longest))
        self.blocks = BlockSeries(n, members, p.block_s[members], depth=depth)
        self.rate_on = rate_on[members]
        self.forecast_on = forecast_on[members]
        self.drift_on = drift_on[members]
        self.rate_limit = p.rate_limit_per_min[members]
        self.rate_blocks = np.clip(p.rate_blocks[members], 1, depth - 1).astype(np.int64)
        self.target = p.forecast_target[members]
        self.forecast_blocks = np.clip(p.forecast_blocks[members], 0, depth).astype(np.int64)
        self.horizon_ns = p.forecast_horizon_s[members] * 1e9
        self.k = p.drift_k[members]
        self.h = p.drift_h[members]
        self.alpha = np.clip(p.block_s[members] / p.drift_baseline_s[members], 1e-6, 1.0)
        self.sigma_floor = p.drift_sigma_floor[members]
        self.warmup = p.drift_warmup_blocks[members]
        self.freeze_above = p.freeze_above[members]
        m = len(members)
        self.level = {rule: np.zeros(m, dtype=np.int8) for rule in (RATE, DRIFT, FORECAST)}
        self.baseline = np.full(m, np.nan)
        self.variance = np.zeros(m)
        self.learned = np.zeros(m, dtype=np.int64)
        self.cusum_up = np.zeros(m)
        self.cusum_down = np.zeros(m)

    def update_frame(self, frame: Frame, series: Series) -> list[ConditionChange]:
        changes: list[ConditionChange] = []
        for rows, when in self.blocks.closes(series):
            changes += self._rate(rows, when)
            changes += self._drift(rows, when)
            changes += self._forecast(rows, when)
        return changes

    # ---- rules ----------------------------------------------------------------------------------------

    def _rate(self, rows: np.ndarray, when: np.ndarray) -> list[ConditionChange]:
        on = self.rate_on[rows]
        if not on.any():
            return []
        rows, when = rows[on], when[on]
        newest_time, newest = self.blocks.back(rows, np.zeros(len(rows), dtype=np.int64))
        earlier_time, earlier = self.blocks.back(rows, self.rate_blocks[rows])
        minutes = (newest_time - earlier_time) / 60e9
        rate = (newest - earlier) / minutes
        limit = self.rate_limit[rows]
        level = self._hysteresis(RATE, rows, rate >= limit, rate < limit / 2)

        def describe(i: int) -> str:
            unit = self._unit(rows[i])
            return f"{self._label(rows[i])} rising {rate[i]:.3g} {unit}/min (limit {limit[i]:g} {unit}/min)"

        return self._emit(RATE, rows, level, when, newest, limit, describe)

    def _drift(self, rows: np.ndarray, when: np.ndarray) -> list[ConditionChange]:
        on = self.drift_on[rows]
        if not on.any():
            return []
        rows, when = rows[on], when[on]
        x = self.blocks.newest(rows)
        warm = self.learned[rows] >= self.warmup[rows]
        sigma = np.maximum(np.sqrt(self.variance[rows]), self.sigma_floor[rows])
        z = np.where(warm, (x - self.baseline[rows]) / sigma, 0.0)
        k, h = self.k[rows], self.h[rows]
        self.cusum_up[rows] = np.clip(self.cusum_up[rows] + z - k, 0, 2 * h)
        self.cusum_down[rows] = np.clip(self.cusum_down[rows] - z - k, 0, 2 * h)
        score = np.maximum(self.cusum_up[rows], self.cusum_down[rows])
        level = self._hysteresis(DRIFT, rows, warm & (score > h), score < h / 2)
        learn = (level == 0) & ~(x >= self.freeze_above[rows])
        self._learn(rows[learn], x[learn])
        up = self.cusum_up[rows] >= self.cusum_down[rows]
        baseline = self.baseline[rows]

        def describe(i: int) -> str:
            direction = "up" if up[i] else "down"
            return (
                f"{self._label(rows[i])} drifting {direction} from its baseline {baseline[i]:.4g} {self._unit(rows[i])}"
            )

        return self._emit(DRIFT, rows, level, when, x, baseline, describe)

    def _learn(self, rows: np.ndarray, x: np.ndarray) -> None:
        first = self.learned[rows] == 0
        # A running mean until 1/alpha blocks are in, then the EWMA: no start-up bias towards zero variance.
        a = np.maximum(self.alpha[rows], 1.0 / (self.learned[rows] + 1))
        old = np.where(first, x, self.baseline[rows])
        new = old + a * (x - old)
        self.variance[rows] = np.where(first, 0.0, (1 - a) * (self.variance[rows] + a * (x - old) ** 2))
        self.baseline[rows] = new
        self.learned[rows] += 1

    def _forecast(self, rows: np.ndarray, when: np.ndarray) -> list[ConditionChange]:
        on = self.forecast_on[rows] & (self.blocks.filled[rows] >= _MIN_FORECAST_BLOCKS)
        if not on.any():
            return []
        rows, when = rows[on], when[on]
        times, means = self.blocks.window(rows, self.forecast_blocks[rows], ordered=False)
        target, horizon = self.target[rows], self.horizon_ns[rows]
        ols = ols_slope(times, means)
        latest = self.blocks.newest(rows)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            reach = (target - latest) / ols
        candidate = (ols > 0) & (latest < target) & (reach <= 2 * horizon)
        eta = np.full(len(rows), np.inf)
        level_now = latest.copy()
        if candidate.any():
            slope, at_end = _theil_sen(times[candidate], means[candidate])
            level_now[candidate] = at_end
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                eta[candidate] = np.where(slope > 0, (target[candidate] - at_end) / slope, np.inf)
        crossed = latest >= target
        raise_ = (eta > 0) & (eta <= horizon) & ~crossed
        clear = crossed | (eta > 1.25 * horizon)
        level = self._hysteresis(FORECAST, rows, raise_, clear)

        def describe(i: int) -> str:
            minutes = max(1, round(eta[i] / 60e9))
            return f"{self._label(rows[i])} will reach {target[i]:g} {self._unit(rows[i])} in about {minutes} min"

        return self._emit(FORECAST, rows, level, when, level_now, target, describe)

    # ---- helpers --------------------------------------------------------------------------------------

    def _hysteresis(self, rule: str, rows: np.ndarray, on: np.ndarray, off: np.ndarray) -> np.ndarray:
        before = self.level[rule][rows]
        return np.where(on, 1, np.where(off, 0, before)).astype(np.int8)

    def _emit(
        self,
        rule: str,
        rows: np.ndarray,
        level: np.ndarray,
        when: np.ndarray,
        value: np.ndarray,
        limit: np.ndarray,
        describe: Callable[[int], str],
    ) -> list[ConditionChange]:
        before = self.level[rule][rows]
        self.level[rule][rows] = level
        out = []
        for i in np.flatnonzero(level != before).tolist():
            r = int(rows[i])
            slot = int(self.members[r])
            text = describe(i) if level[i] else f"{self._label(r)}: {rule.split('.')[1]} back to normal"
            out.append(
                ConditionChange(
                    slot=slot,
                    rule=rule,
                    category="process",
                    level=int(level[i]),
                    level_name=rule.split(".")[1] if level[i] else "normal",
                    priority="high" if rule == FORECAST else "medium",
                    value=float(value[i]),
                    limit=float(limit[i]),
                    time_ns=int(when[i]),
                    message=text,
                )
            )
        return out

    def _label(self, row: int) -> str:
        return self.labels[int(self.members[row])]

    def _unit(self, row: int) -> str:
        return self.units[int(self.members[row])]


def _theil_sen(times: np.ndarray, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median pairwise slope, and the robust level at the newest block time (median of residual intercepts)."""
    n = times.shape[1]
    i, j = np.triu_indices(n, 1)
    t = times - np.where(np.isnan(means), -np.inf, times).max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        slopes = (means[:, j] - means[:, i]) / (t[:, j] - t[:, i])
        slope = np.nanmedian(np.where(np.isfinite(slopes), slopes, np.nan), axis=1)
        at_end = np.nanmedian(means - slope[:, None] * t, axis=1)
    return slope, at_end


# ---- from the site config ----------------------------------------------------------------------------


def drift_threshold(drift: Drift, block_s: float) -> float:
    """The CUSUM's h: from the sensor's false-alarm budget when it has one, else the configured constant."""
    if drift.budget_per_day is None:
        return drift.h
    return two_sided_cusum_h(drift.k, drift.budget_per_day, block_s)


def trend_params(setup: Setup) -> TrendParams:
    registry = setup.registry
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
        rate = (d.rate_of_rise or RATE_OF_RISE_DEFAULTS.get(s.kind)) if d.wants("rate_of_rise") else None
        forecast = (d.forecast or FORECAST_DEFAULTS.get(s.kind)) if d.wants("forecast") else None
        limit = first_high_limit(s.limits)
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
            drift_k[s.slot], drift_h[s.slot] = d.drift.k, drift_threshold(d.drift, block_s[s.slot])
            baseline_s[s.slot] = d.drift.baseline_s
            warmup[s.slot] = d.drift.warmup_blocks
            span = s.range_max - s.range_min
            sigma_floor[s.slot] = d.drift.sigma_floor or (0.005 * span if math.isfinite(span) else 0.0)
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


RULE = RuleDeclaration(
    name="trend",
    phase=Phase.SENSOR,
    after=("threshold",),
    build=lambda setup: TrendDetector(trend_params(setup), setup.labels, setup.units),
    parameters=(
        Parameter("rate_of_rise", "CH4 0.2 %/min over 60 s; CO 5 ppm/h over 30 min; temperature 0.5 °C/min over "
                  "60 s", "unit/min, s", "DOMAIN.md §4: fan stop +0.02 %/min, outburst; spontaneous combustion; "
                  "runaway 0.5 → 10 °C/min"),
        Parameter("forecast", "15 min ahead from a 5 min window; CO 1 h ahead from 30 min; not O2", "s",
                  "engineering choice: time-to-limit warning before the first high limit (DOMAIN.md §1–2)"),
        Parameter("drift", "off; k 0.5, h 8, 60 s blocks, 1 h baseline, 30 warm-up blocks, floor 0.5 % of range",
                  "σ, s", "Page 1954 CUSUM; DOMAIN.md §4: drift ±0.1 % CH4 per 15 days"),
        Parameter("drift.budget_per_day", "unset (h 8 ≈ 0.15 false alarms/sensor-day at 60 s blocks)",
                  "alarms/sensor-day", "Siegmund's CUSUM run-length approximation (detectors/false_alarm.py): "
                  "when set, h is the threshold that spends this budget"),
    ),
)
