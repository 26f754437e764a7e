"""The multivariate detector: quiet on normal correlated data, raises on a broken pattern, clears after."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.rules.multivariate import (
    MultivariateDetector,
    MultivariateParams,
    NotFitted,
    hotelling_t2_limit,
    jackson_mudholkar_q_limit,
)

FIT = 400


def unit_rows(n: int, seed: int) -> np.ndarray:
    """Six sensors driven by two shared process states plus sensor noise: they move together."""
    rng = np.random.default_rng(seed)
    states = np.cumsum(rng.normal(0, 0.05, (n, 2)), axis=0) * 0.2 + rng.normal(0, 1, (n, 2))
    mixing = np.array([[1.0, 0.8, 0.6, 0.0, 0.2, 0.5], [0.0, 0.3, 0.5, 1.0, 0.9, -0.4]])
    return 10 + states @ mixing + rng.normal(0, 0.2, (n, 6))


def fitted(rows: np.ndarray, **params: object) -> MultivariateDetector:
    return MultivariateDetector(MultivariateParams(**params)).fit(rows[:FIT])


def test_normal_operation_stays_quiet():
    rows = unit_rows(FIT + 2000, seed=1)
    _, alarm = fitted(rows).update(rows[FIT:])
    assert alarm.mean() < 0.02


def test_a_sensor_leaving_the_joint_pattern_raises_within_seconds_and_clears_after():
    rows = unit_rows(FIT + 900, seed=2)
    fault = slice(FIT + 300, FIT + 600)
    rows[fault, 2] += 2.0  # ~10x its own noise, but well inside the range the process swings it through
    _, alarm = fitted(rows).update(rows[FIT:])
    onset = int(np.argmax(alarm[300:])) if alarm[300:].any() else None
    assert onset is not None and onset <= 15
    assert alarm[320:600].mean() > 0.95
    assert not alarm[640:].any()
    assert not alarm[:300].any()


def test_one_clean_raise_and_clear_per_episode():
    rows = unit_rows(FIT + 900, seed=3)
    rows[FIT + 300 : FIT + 600, 0] -= 2.5
    _, alarm = fitted(rows).update(rows[FIT:])
    transitions = np.count_nonzero(np.diff(alarm.astype(int)))
    assert transitions == 2


def test_a_drifting_temperature_is_watched_by_its_rate_not_its_level():
    rows = unit_rows(FIT + 1500, seed=4)
    rows[:, 5] += np.linspace(0, 30, len(rows))  # warms steadily for the whole run
    as_level = fitted(rows).update(rows[FIT:])[1]
    as_rate = fitted(rows, rate_channels=(5,)).update(rows[FIT:])[1]
    assert as_level.mean() > 0.5
    assert as_rate.mean() < 0.02


def test_a_sudden_temperature_step_still_raises_as_a_rate_channel():
    rows = unit_rows(FIT + 600, seed=5)
    rows[FIT + 300 :, 5] -= 8.0
    _, alarm = fitted(rows, rate_channels=(5,)).update(rows[FIT:])
    assert not alarm[:300].any()
    assert alarm[300:340].any()


def test_streaming_in_small_batches_equals_one_batch():
    rows = unit_rows(FIT + 700, seed=6)
    rows[FIT + 200 : FIT + 400, 1] += 2.0
    whole_score, whole_alarm = fitted(rows, rate_channels=(4,)).update(rows[FIT:])
    detector = fitted(rows, rate_channels=(4,))
    parts = [detector.update(rows[i : i + 13]) for i in range(FIT, len(rows), 13)]
    np.testing.assert_allclose(np.concatenate([p[0] for p in parts]), whole_score)
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), whole_alarm)


def test_missing_values_hold_the_last_reading_instead_of_failing_and_the_unit_recovers_when_they_return():
    rows = unit_rows(FIT + 300, seed=7)
    rows[FIT + 100 : FIT + 110, 3] = np.nan
    score, alarm = fitted(rows).update(rows[FIT:])
    assert np.isfinite(score).all()
    assert not alarm[:100].any() and not alarm[130:].any()


def stationary_rows(n: int, seed: int) -> np.ndarray:
    """Six sensors on two shared states with no drift: what the calibration saw is what normal stays."""
    rng = np.random.default_rng(seed)
    mixing = np.array([[1.0, 0.8, 0.6, 0.0, 0.2, 0.5], [0.0, 0.3, 0.5, 1.0, 0.9, -0.4]])
    return 10 + rng.normal(0, 1, (n, 2)) @ mixing + rng.normal(0, 0.2, (n, 6))


@pytest.mark.parametrize("target", [0.02, 0.002])
def test_on_normal_rows_like_the_calibration_the_share_over_the_limit_is_about_the_target_rate(target):
    rows = stationary_rows(FIT + 50_000, seed=8)
    detector = fitted(rows, target_false_alarm_rate=target)
    score, _ = detector.update(rows[FIT:])
    assert target / 4 < np.mean(score > 1.0) < target * 2.5
    assert detector.calibration_over_rate <= target


def test_a_smaller_target_rate_sets_higher_limits_and_raises_fewer_alarms():
    rows = unit_rows(FIT + 3000, seed=9)
    loose, strict = fitted(rows, target_false_alarm_rate=0.05), fitted(rows, target_false_alarm_rate=1e-6)
    assert all(s > lo for s, lo in zip(strict.limits, loose.limits, strict=True))
    assert strict.update(rows[FIT:])[1].sum() < loose.update(rows[FIT:])[1].sum()


def test_the_textbook_limits_match_the_tail_of_gaussian_statistics():
    rng = np.random.default_rng(10)
    eigenvalues = np.array([0.5, 0.3, 0.2, 0.1])
    q = (rng.normal(0, 1, (400_000, 4)) ** 2 * eigenvalues).sum(axis=1)
    # Jackson–Mudholkar is a normal approximation: a few per cent on the safe (high) side with few eigenvalues.
    assert 1.0 <= jackson_mudholkar_q_limit(eigenvalues, 0.001) / np.quantile(q, 0.999) < 1.1
    t2 = (rng.normal(0, 1, (400_000, 3)) ** 2).sum(axis=1)  # T² of 3 components, many calibration rows
    assert hotelling_t2_limit(3, 100_000, 0.001) == pytest.approx(np.quantile(t2, 0.999), rel=0.05)


def test_misuse_is_refused_clearly():
    rows = unit_rows(FIT, seed=9)
    with pytest.raises(NotFitted):
        MultivariateDetector().update(rows)
    detector = fitted(rows)
    with pytest.raises(ValueError, match="channels"):
        detector.update(rows[:, :4])
    with pytest.raises(ValueError, match="rate_channels"):
        MultivariateDetector(MultivariateParams(rate_channels=(9,))).fit(rows)
    with pytest.raises(ValueError, match="calibration rows"):
        MultivariateDetector().fit(rows[:10])
    with pytest.raises(ValueError):
        MultivariateParams(on_count=11, on_window=10)
