"""The multivariate detector: quiet on normal correlated data, raises on a broken pattern, clears after."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.rules.multivariate import MultivariateDetector, MultivariateParams, NotFitted

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


def test_missing_values_hold_the_last_reading_instead_of_failing():
    rows = unit_rows(FIT + 300, seed=7)
    rows[FIT + 100 : FIT + 110, 3] = np.nan
    score, alarm = fitted(rows).update(rows[FIT:])
    assert np.isfinite(score).all()
    assert not alarm.any()


def test_score_is_relative_to_the_calibration_limit():
    rows = unit_rows(FIT + 2000, seed=8)
    score, _ = fitted(rows).update(rows[FIT:])
    assert 0.005 < np.mean(score > 1.0) < 0.2


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
