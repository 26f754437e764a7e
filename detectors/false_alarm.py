"""A target false-alarm rate turned into a detector's threshold, so a rule's sensitivity follows the alarm budget.

An operator's budget is alarms per sensor-day on normal data (ISA-18.2: ≤ 1 alarm per 10 min per operator).
A rule whose statistic has a known in-control behaviour can spend exactly that: here Page's CUSUM, whose
average run length to a false alarm on in-control, unit-variance data is, by Siegmund's approximation
(Siegmund 1985; Montgomery, *Introduction to Statistical Quality Control*, §9.1),

    ARL0(k, h) ≈ (e^(2kb) − 2kb − 1) / (2k²),   b = h + 1.166

for one side. The budget gives the run length (`steps_per_day / rate`), and the threshold h is the root.
Real block means are not independent unit Gaussians (the baseline is estimated, block means are correlated),
so the rate measured on normal data is what `hazwatch evaluate` reports against the budget.
"""

from __future__ import annotations

import math

SIEGMUND_SHIFT = 1.166
"""Siegmund's correction of h for the overshoot of a discrete CUSUM past its threshold."""


def cusum_arl0(k: float, h: float) -> float:
    """One-sided in-control average run length (steps) of a CUSUM with allowance k and threshold h (σ units)."""
    a = 2.0 * k * (h + SIEGMUND_SHIFT)
    return (math.exp(a) - a - 1.0) / (2.0 * k * k)


def cusum_h(k: float, arl0: float) -> float:
    """The threshold h at which a one-sided CUSUM with allowance k raises a false alarm every `arl0` steps.

    ARL0 grows monotonically with h, so the root is found by bisection; a run length shorter than the
    CUSUM can ever give (h = 0) is refused rather than answered with a meaningless threshold."""
    if not (k > 0 and arl0 > 0):
        raise ValueError(f"k and arl0 must be positive (k={k}, arl0={arl0})")
    if arl0 <= cusum_arl0(k, 0.0):
        raise ValueError(f"a CUSUM with k={k} cannot alarm as often as every {arl0:.3g} steps")
    lo, hi = 0.0, 1.0
    while cusum_arl0(k, hi) < arl0:
        hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cusum_arl0(k, mid) < arl0 else (lo, mid)
    return 0.5 * (lo + hi)


def two_sided_cusum_h(k: float, budget_per_day: float, step_s: float) -> float:
    """h of a two-sided CUSUM stepping every `step_s` seconds that spends `budget_per_day` false alarms a day:
    each side gets half the budget."""
    if not (budget_per_day > 0 and step_s > 0):
        raise ValueError(f"budget_per_day and step_s must be positive ({budget_per_day}, {step_s})")
    steps_per_day = 86400.0 / step_s
    return cusum_h(k, 2.0 * steps_per_day / budget_per_day)
