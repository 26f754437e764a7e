"""A target false-alarm rate becomes a CUSUM threshold that spends it."""

import numpy as np
import pytest

from detectors.false_alarm import cusum_arl0, cusum_h, two_sided_cusum_h


def false_alarm_rate(k: float, h: float, series: int = 400, steps: int = 12_000, seed: int = 1) -> float:
    """One-sided CUSUM on in-control unit Gaussians, restarted after each alarm: alarms per step."""
    rng = np.random.default_rng(seed)
    s = np.zeros(series)
    alarms = 0
    for _ in range(steps):
        s = np.maximum(0.0, s + rng.standard_normal(series) - k)
        fired = s > h
        alarms += int(fired.sum())
        s[fired] = 0.0
    return alarms / (series * steps)


def test_a_cusum_at_the_derived_threshold_raises_false_alarms_at_the_target_rate():
    for arl0 in (200.0, 1000.0):
        measured = false_alarm_rate(0.5, cusum_h(0.5, arl0))
        assert 0.8 / arl0 <= measured <= 1.25 / arl0, (arl0, 1 / measured)


def test_a_smaller_budget_gives_a_higher_threshold_and_the_shipped_h_spends_about_a_seventh_a_day():
    hs = [two_sided_cusum_h(0.5, budget, 60.0) for budget in (4.0, 1.0, 0.15, 0.01)]
    assert hs == sorted(hs)
    assert two_sided_cusum_h(0.5, 0.15, 60.0) == pytest.approx(8.0, abs=0.05)
    assert cusum_arl0(0.5, cusum_h(0.5, 5000.0)) == pytest.approx(5000.0, rel=1e-6)


def test_a_budget_no_cusum_can_spend_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="cannot alarm as often"):
        two_sided_cusum_h(0.5, 5000.0, 60.0)
    with pytest.raises(ValueError, match="positive"):
        two_sided_cusum_h(0.5, 0.0, 60.0)
