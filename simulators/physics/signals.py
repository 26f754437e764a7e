"""Vectorised signal shapes the physical models are built from (all on a uniform time grid).

Each helper works on whole time series at once, so a day of a site renders in milliseconds and
the same seed always gives the same series.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def delayed(x: np.ndarray, t: np.ndarray, lag_s: float) -> np.ndarray:
    """x(t - lag): what a sensor downstream sees after transport by the air (held at x[0] before the start)."""
    if lag_s <= 0:
        return x.copy()
    return np.interp(t - lag_s, t, x, left=x[0])


def first_order(x: np.ndarray, dt: float, tau_s: float) -> np.ndarray:
    """First-order lag (a sensor's T90 response, or mixing along an airway); starts settled at x[0]."""
    if tau_s <= 0 or len(x) == 0:
        return x.copy()
    alpha = 1.0 - np.exp(-dt / tau_s)
    y, _ = lfilter([alpha], [1.0, alpha - 1.0], x, zi=[x[0] * (1.0 - alpha)])
    return y


def step_on(t: np.ndarray, at: float, until: float | None = None) -> np.ndarray:
    """1.0 from `at` (inclusive) to `until` (exclusive), else 0.0."""
    on = t >= at
    if until is not None:
        on &= t < until
    return on.astype(np.float64)


def ramp(t: np.ndarray, at: float, ramp_s: float) -> np.ndarray:
    """0 before `at`, rising linearly to 1 over `ramp_s`, then 1."""
    if ramp_s <= 0:
        return step_on(t, at)
    return np.clip((t - at) / ramp_s, 0.0, 1.0)


def exp_rise(t: np.ndarray, at: float, tau_s: float) -> np.ndarray:
    """1 - exp(-(t - at)/tau) after `at`: a fire's CO, a leak's build-up."""
    elapsed = np.maximum(t - at, 0.0)
    return np.where(t >= at, 1.0 - np.exp(-elapsed / tau_s), 0.0)


def ar1_noise(rng: np.random.Generator, n: int, dt: float, corr_s: float) -> np.ndarray:
    """Unit-variance Gaussian noise correlated over `corr_s` (a meandering plume, slow turbulence)."""
    phi = np.exp(-dt / corr_s) if corr_s > 0 else 0.0
    white = rng.standard_normal(n) * np.sqrt(1.0 - phi * phi)
    z, _ = lfilter([1.0], [1.0, -phi], white, zi=[phi * rng.standard_normal()])
    return z


def well_mixed(
    t: np.ndarray, emission: float, volume: float, airflow: np.ndarray, c0: float | None = None
) -> np.ndarray:
    """Concentration (fraction) of a well-mixed volume: dC/dt = (E - Q(t)·C) / V, solved exactly.

    `airflow` is piecewise constant (fans start and stop), so each step uses the exact solution of
    the linear ODE for its flow; with no flow the gas simply accumulates at E/V.
    """
    dt = np.diff(t, prepend=t[0])
    q = np.asarray(airflow, dtype=np.float64)
    decay = np.exp(-q * dt / volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        equilibrium = np.where(q > 0, emission / q, 0.0)
        gain = np.where(q > 0, equilibrium * (1.0 - decay), emission * dt / volume)
    # C[n] = decay[n]·C[n-1] + gain[n]: a linear recurrence with varying coefficients, solved by cumulative products.
    start = emission / q[0] if c0 is None and q[0] > 0 else (c0 or 0.0)
    log_decay = np.cumsum(np.log(np.maximum(decay, 1e-300)))
    scale = np.exp(log_decay)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        terms = np.cumsum(gain / scale)
        c = scale * (start + terms)
    if not np.all(np.isfinite(c)):
        c = _well_mixed_loop(decay, gain, start)
    return c


def _well_mixed_loop(decay: np.ndarray, gain: np.ndarray, start: float) -> np.ndarray:
    """Fallback for very long flushes where the cumulative product underflows."""
    c = np.empty_like(decay)
    value = start
    for i in range(len(decay)):
        value = decay[i] * value + gain[i]
        c[i] = value
    return c
