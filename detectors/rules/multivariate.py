"""A streaming multivariate detector for a plant unit whose sensors move together.

Pump, valve and tank signals of one unit are tied by the process: a closing valve shows as flow
falling while pressure and vibration keep their usual relation to it. A per-sensor limit sees
such a fault late or not at all; PCA control charts see it as a break in the joint pattern.

Baseline: PCA Hotelling T² (distance inside the normal subspace) and Q / SPE (distance from it),
fitted on a calibration window of normal rows. On top of that, each choice below fixes a failure
we measured on the SKAB rig (docs/evaluation.md has the numbers):

- **Short EWMA smoothing of the standardised levels** (about 5 s): single 1 Hz samples are
  noisy enough that raw T²/Q chatter; a short smoothing keeps a step visible within seconds.
- **Slow thermal states enter as their rate of change**: a pump body or fluid temperature
  drifts for minutes as the rig warms, so its level after calibration is routinely far outside
  the calibration window. Its (smoothed) first difference is stationary and still shows a
  sudden change. Which channels are such states is the caller's choice (`rate_channels`),
  e.g. every temperature-kind sensor of the group.
- **Limits from a target false-alarm rate**, not a hand-picked margin: each limit is the larger
  of the textbook control limit at that rate (F distribution for T², Jackson–Mudholkar for Q) and
  the calibration rows' own empirical quantile at it. The textbook limit reaches rates a short
  window cannot resolve (1 row in 10,000 from 400 rows); the empirical quantile is the check that
  catches calibration scores heavier-tailed than the theory assumes (smoothed, autocorrelated,
  not Gaussian), and then wins. The rate is split evenly between T² and Q, so the one combined
  score, max(T²/T²_lim, Q/Q_lim), exceeds 1 on at most the target share of normal rows.
- **Alarm with persistence and off-delay** (on after k of the last n rows over the margin, off
  after m consecutive rows under it): one clean raise and one clear per episode instead of
  chattering, which is what an operator and a changepoint score both need.

All state is numpy arrays; `update` takes any number of new rows (a batch) and continues the
stream exactly where the previous call stopped. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DEFAULT_TARGET_FALSE_ALARM_RATE = 1e-9
"""Small because the nominal rate holds only if the calibration stretch represents all of normal operation. A short
calibration of a unit that drifts realises far more: on SKAB (400 rows, 6.7 min of a rig that warms) 1e-4 gives
F1 0.8227 but FAR 15.76 % and changepoint 30.41, past the 10 % an operator can live with; 1e-9 gives F1 0.7925,
FAR 6.14 %, changepoint 34.42 (docs/detectors.md has the other rates). A site with a long, representative
calibration (`calibration_start`, a large `fit_samples`) can raise it per group with `target_false_alarm_rate`."""


@dataclass(frozen=True)
class MultivariateParams:
    """Fixed for every unit and every file: nothing here is tuned per unit."""

    level_alpha: float = 0.2
    """EWMA weight of each new row for level channels (time constant ~1/alpha rows)."""
    rate_alpha: float = 0.05
    """EWMA weight for the first differences of rate channels (~20 rows)."""
    rate_channels: tuple[int, ...] = ()
    """Column indices of slow, drifting states (temperatures) that enter as their rate of change."""
    explained_variance: float = 0.9
    """PCA keeps the fewest components that explain this share of the calibration variance."""
    target_false_alarm_rate: float = DEFAULT_TARGET_FALSE_ALARM_RATE
    """Share of normal rows allowed over the alarm threshold (the combined score's 1.0), half to T², half to Q.
    Rows, not alarms: the persistence below turns a lone row over the threshold into no alarm at all."""
    control_limits: bool = True
    """Each limit is the larger of the textbook control limit at the target rate and the calibration rows'
    empirical quantile at it; False: the empirical quantile alone (what a plain PCA chart does)."""
    on_count: int = 5
    on_window: int = 10
    """Raise when at least on_count of the last on_window rows are over the margin."""
    off_count: int = 5
    """Clear after this many consecutive rows under the margin."""
    warmup_rows: int = 20
    """Calibration rows skipped while the smoothing filters settle."""

    def __post_init__(self) -> None:
        if not 0 < self.level_alpha <= 1 or not 0 < self.rate_alpha <= 1:
            raise ValueError("smoothing weights must be in (0, 1]")
        if not 0 < self.explained_variance < 1:
            raise ValueError("explained_variance must be in (0, 1)")
        if not 0 < self.target_false_alarm_rate < 1:
            raise ValueError("target_false_alarm_rate must be in (0, 1)")
        if not 1 <= self.on_count <= self.on_window or self.off_count < 1:
            raise ValueError("need 1 <= on_count <= on_window and off_count >= 1")
        if self.warmup_rows < 0:
            raise ValueError("warmup_rows must be >= 0")


class NotFitted(RuntimeError):
    """update() was called before fit()."""


def _scipy_lfilter() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """scipy.signal, imported on first use: the rule catalog imports this module for every command, and
    scipy.signal alone took a second of `hazwatch check`'s start (docs/performance.md)."""
    from scipy.signal import lfilter

    return lfilter


class MultivariateDetector:
    """PCA T²/Q on smoothed level and rate features, with a persistent alarm.

    Usage: `fit(rows)` once with a calibration window of normal operation (rows × channels, in a
    fixed channel order), then `update(rows)` with each new batch; it returns per row the
    combined score and the alarm state. Missing values (NaN) hold the channel's last value.
    """

    def __init__(self, params: MultivariateParams | None = None) -> None:
        _scipy_lfilter()  # ~1 s of imports, paid when a unit model is built at start-up, not by every CLI command
        self.params = params or MultivariateParams()
        self._fitted = False

    # ---- calibration ----------------------------------------------------------------------

    def fit(self, rows: np.ndarray) -> MultivariateDetector:
        p = self.params
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] < 2:
            raise ValueError("fit needs a 2-D array with at least two channels")
        n_channels = rows.shape[1]
        if any(not 0 <= c < n_channels for c in p.rate_channels):
            raise ValueError(f"rate_channels {p.rate_channels} outside 0..{n_channels - 1}")
        if len(rows) < p.warmup_rows + 2 * n_channels:
            raise ValueError(f"need at least {p.warmup_rows + 2 * n_channels} calibration rows, got {len(rows)}")
        rows = self._fill_missing(rows, np.nanmean(rows, axis=0))
        if np.isnan(rows).any():
            raise ValueError("a channel has no value in the whole calibration window")

        self._rate = np.isin(np.arange(n_channels), p.rate_channels)
        self._level = ~self._rate
        self._mean = rows.mean(axis=0)
        scale = rows.std(axis=0)
        self._scale = np.where(scale > 0, scale, 1.0)
        # Fresh filter state: levels start at the first row, rates at zero.
        self._last_row = rows[0].copy()
        self._level_state = (1 - p.level_alpha) * self._standardise(rows[:1])[0, self._level]
        self._rate_state = np.zeros(int(self._rate.sum()))
        self._rate_mean = np.zeros(int(self._rate.sum()))
        self._rate_scale = np.ones(int(self._rate.sum()))

        features = self._features(rows)[p.warmup_rows :]
        if self._rate.any():
            rate_part = features[:, int(self._level.sum()) :]
            self._rate_mean = rate_part.mean(axis=0)
            rate_scale = rate_part.std(axis=0)
            self._rate_scale = np.where(rate_scale > 0, rate_scale, 1.0)
            features[:, int(self._level.sum()) :] = (rate_part - self._rate_mean) / self._rate_scale

        self._center = features.mean(axis=0)
        eigenvalues, eigenvectors = np.linalg.eigh(np.cov(features - self._center, rowvar=False))
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues = np.maximum(eigenvalues[order], 1e-12)
        explained = np.cumsum(eigenvalues) / eigenvalues.sum()
        k = min(int(np.searchsorted(explained, p.explained_variance) + 1), features.shape[1] - 1)
        self._components = eigenvectors[:, order][:, :k]
        self._component_variance = eigenvalues[:k]

        t2, q = self._t2_q(features)
        alpha = p.target_false_alarm_rate / 2
        self._t2_limit = max(float(np.quantile(t2, 1 - alpha)), 1e-12)
        self._q_limit = max(float(np.quantile(q, 1 - alpha)), 1e-12)
        if p.control_limits:
            self._t2_limit = max(self._t2_limit, hotelling_t2_limit(k, len(features), alpha))
            self._q_limit = max(self._q_limit, jackson_mudholkar_q_limit(eigenvalues[k:], alpha))
        self._calibration_over = float(np.mean(np.maximum(t2 / self._t2_limit, q / self._q_limit) > 1))
        self._recent_over = np.zeros(p.on_window, dtype=np.int8)
        self._recent_pos = 0
        self._alarm = False
        self._rows_under = 0
        self._fitted = True
        return self

    @property
    def components(self) -> int:
        return self._components.shape[1]

    @property
    def limits(self) -> tuple[float, float]:
        """(T² limit, Q limit) at the target false-alarm rate, from the calibration window."""
        return self._t2_limit, self._q_limit

    @property
    def calibration_over_rate(self) -> float:
        """Share of the calibration rows over the threshold: the empirical check of the target rate."""
        return self._calibration_over

    # ---- streaming ------------------------------------------------------------------------

    def update(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score new rows and advance the alarm; returns (combined score, 1.0 = limit) and alarm per row."""
        if not self._fitted:
            raise NotFitted("fit() the detector on a calibration window first")
        rows = np.atleast_2d(np.asarray(rows, dtype=np.float64))
        if rows.shape[1] != len(self._mean):
            raise ValueError(f"expected {len(self._mean)} channels, got {rows.shape[1]}")
        if len(rows) == 0:
            return np.zeros(0), np.zeros(0, dtype=bool)
        features = self._features(self._fill_missing(rows, self._last_row))
        n_level = int(self._level.sum())
        features[:, n_level:] = (features[:, n_level:] - self._rate_mean) / self._rate_scale
        t2, q = self._t2_q(features)
        score = np.maximum(t2 / self._t2_limit, q / self._q_limit)
        return score, self._advance_alarm(score > 1.0)

    # ---- internals ------------------------------------------------------------------------

    @staticmethod
    def _fill_missing(rows: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        """Forward-fill NaNs down each column, starting from `fallback` (the last value seen)."""
        if not np.isnan(rows).any():
            return rows
        filled = np.vstack([fallback, rows])
        valid = ~np.isnan(filled)
        index = np.where(valid, np.arange(len(filled))[:, None], 0)
        np.maximum.accumulate(index, axis=0, out=index)
        return filled[index, np.arange(filled.shape[1])][1:]

    def _standardise(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self._mean) / self._scale

    def _features(self, rows: np.ndarray) -> np.ndarray:
        """Smoothed standardised levels, then smoothed first differences; filter state carries over."""
        p = self.params
        lfilter = _scipy_lfilter()
        levels, self._level_state = lfilter(
            [p.level_alpha],
            [1.0, -(1 - p.level_alpha)],
            self._standardise(rows)[:, self._level],
            axis=0,
            zi=self._level_state[None, :],
        )
        self._level_state = self._level_state[0]
        if not self._rate.any():
            self._last_row = rows[-1].copy()
            return levels
        diffs = np.diff(rows[:, self._rate], axis=0, prepend=self._last_row[None, self._rate])
        rates, rate_state = lfilter(
            [p.rate_alpha], [1.0, -(1 - p.rate_alpha)], diffs, axis=0, zi=self._rate_state[None, :]
        )
        self._rate_state = rate_state[0]
        self._last_row = rows[-1].copy()
        return np.hstack([levels, rates])

    def _t2_q(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        centred = features - self._center
        scores = centred @ self._components
        t2 = np.sum(scores**2 / self._component_variance, axis=1)
        residual = centred - scores @ self._components.T
        return t2, np.sum(residual**2, axis=1)

    def _advance_alarm(self, over: np.ndarray) -> np.ndarray:
        """k-of-n raise and m-consecutive clear; sequential by nature, so one pass over the rows."""
        p = self.params
        alarm = np.empty(len(over), dtype=bool)
        recent, pos, state, under = self._recent_over, self._recent_pos, self._alarm, self._rows_under
        count = int(recent.sum())
        for i, is_over in enumerate(over.tolist()):
            count += is_over - int(recent[pos])
            recent[pos] = is_over
            pos = (pos + 1) % p.on_window
            if not state:
                if count >= p.on_count:
                    state, under = True, 0
            elif is_over:
                under = 0
            else:
                under += 1
                if under >= p.off_count:
                    state = False
            alarm[i] = state
        self._recent_pos, self._alarm, self._rows_under = pos, state, under
        return alarm


# ---- control limits ---------------------------------------------------------------------------


def hotelling_t2_limit(components: int, rows: int, alpha: float) -> float:
    """T² limit for a new observation, exceeded with probability alpha under normal operation (Tracy, Young &
    Mason 1992): k(n²−1)/(n(n−k)) · F(k, n−k; 1−alpha)."""
    from scipy.stats import f

    k, n = components, rows
    return float(k * (n * n - 1) / (n * (n - k)) * f.ppf(1 - alpha, k, n - k))


def jackson_mudholkar_q_limit(residual_eigenvalues: np.ndarray, alpha: float) -> float:
    """Q (SPE) limit exceeded with probability alpha (Jackson & Mudholkar 1979), from the eigenvalues the model
    left out; Box's g·χ²_h approximation where the Jackson–Mudholkar exponent h0 is not positive."""
    from scipy.stats import chi2, norm

    theta = [float(np.sum(residual_eigenvalues**i)) for i in (1, 2, 3)]
    if theta[0] <= 0 or theta[1] <= 0:
        return 0.0
    h0 = 1 - 2 * theta[0] * theta[2] / (3 * theta[1] ** 2)
    if h0 <= 0:
        return float(theta[1] / theta[0] * chi2.ppf(1 - alpha, theta[0] ** 2 / theta[1]))
    c = float(norm.ppf(1 - alpha))
    inner = c * np.sqrt(2 * theta[1] * h0**2) / theta[0] + 1 + theta[1] * h0 * (h0 - 1) / theta[0] ** 2
    return float(theta[0] * inner ** (1 / h0))
