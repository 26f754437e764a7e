"""The learned-normal rule: quiet on a signal's own normal (daily pattern included), loud on what stays unusual,
and it lets go after a real change of operating point."""

import numpy as np

from detectors.rules.learned import (
    PERSISTENT,
    UNUSUAL,
    LearnedNormalDetector,
    LearnedParams,
    LearnedSettings,
    params_from,
)
from hazwatch.batch import ReadingBatch

STEP_S = 300
DAY = 86400 // STEP_S


def learned_params(n: int, members: np.ndarray, settings: LearnedSettings | None = None) -> LearnedParams:
    """The same settings (default: the rule's defaults) for the `members` slots of `n`, the others left out."""
    chosen: list[LearnedSettings | None] = [None] * n
    for slot in np.arange(n)[members].tolist():
        chosen[slot] = settings or LearnedSettings()
    return params_from(chosen)


def daily(days: float, seed: int = 0, noise: float = 1.0) -> np.ndarray:
    k = np.arange(int(days * DAY))
    return 50 + 20 * np.sin(2 * np.pi * k / DAY) + np.random.default_rng(seed).normal(0, noise, len(k))


def run(
    values: np.ndarray, detector: LearnedNormalDetector | None = None, chunk: int = 64, step_s: int = STEP_S
) -> list:
    """Feed columns (readings × sensors) every `step_s` seconds; returns the rule's changes."""
    values = values.reshape(len(values), -1)
    n, m = values.shape
    detector = detector or LearnedNormalDetector(learned_params(m, np.arange(m)), [f"s{i}" for i in range(m)])
    changes = []
    for lo in range(0, n, chunk):
        block = values[lo : lo + chunk]
        k = len(block)
        times = (1_700_000_000 + (lo + np.arange(k)) * step_s) * 1_000_000_000
        batch = ReadingBatch.from_columns(
            np.tile(np.arange(m, dtype=np.int32), k),
            np.repeat(times, m).astype(np.int64),
            block.ravel(),
            np.zeros(k * m, dtype=np.uint8),
        )
        changes += detector.update(batch)
    return changes


def raises(changes) -> list:
    return [c for c in changes if c.level > 0]


def test_a_strong_daily_pattern_alone_stays_within_the_alarm_budget():
    days = 28
    changes = run(daily(days))
    budget = learned_params(1, np.array([0])).budget_per_day[0]
    per_day = len(raises(changes)) / days
    print(f"learned rule on 28 days of a noisy daily cycle: {per_day:.3f} alarms per sensor-day (budget {budget})")
    assert per_day <= budget
    assert all(c.rule in (UNUSUAL, PERSISTENT) for c in changes)


def test_a_deviation_at_an_hour_it_never_happens_raises_once():
    values = daily(21)
    night = 18 * DAY + DAY // 4 * 3
    values[night : night + 12] += 25
    found = raises(run(values))
    assert len(found) == 1
    raised_at = (found[0].time_ns // 1_000_000_000 - 1_700_000_000) // STEP_S
    assert night <= raised_at <= night + 3
    assert "unusual" in found[0].message


def test_after_a_real_change_of_operating_point_the_alarm_clears_and_stays_clear():
    values = daily(14, noise=0.5)
    values[10 * DAY :] += 60
    changes = run(values)
    found = raises(changes)
    assert len(found) == 1, [c.message for c in changes]
    cleared = [c for c in changes if c.level == 0]
    assert cleared and "new operating point" in cleared[0].message
    hours_to_adapt = (cleared[0].time_ns - found[0].time_ns) / 3.6e12
    assert hours_to_adapt <= learned_params(1, np.array([0])).adapt_after_s[0] / 3600 + 1


def test_sensors_are_learned_independently_in_one_vectorised_pass():
    quiet = daily(21, seed=1)
    odd = daily(21, seed=2)
    odd[19 * DAY : 19 * DAY + 12] -= 40
    together = run(np.column_stack([quiet, odd]))
    alone = run(odd)
    assert [(c.slot, c.time_ns) for c in raises(together)] == [(1, c.time_ns) for c in raises(alone)]


def test_a_batch_holding_only_some_of_its_sensors_is_judged_like_any_other():
    detector = LearnedNormalDetector(learned_params(3, np.arange(3)), ["a", "b", "c"])
    odd = daily(21, seed=5)
    odd[19 * DAY : 19 * DAY + 12] += 40
    alone = run(odd)
    values = np.column_stack([odd, np.full(len(odd), np.nan), np.full(len(odd), np.nan)])
    only_first = []
    for lo in range(0, len(odd), 64):
        k = len(odd[lo : lo + 64])
        times = (1_700_000_000 + (lo + np.arange(k)) * STEP_S) * 1_000_000_000
        batch = ReadingBatch.from_columns(
            np.zeros(k, dtype=np.int32), times.astype(np.int64), values[lo : lo + 64, 0], np.zeros(k, dtype=np.uint8)
        )
        only_first += detector.update(batch)
    assert [c.time_ns for c in raises(only_first)] == [c.time_ns for c in raises(alone)]


def reading_of(change, step_s: int = STEP_S) -> int:
    return (change.time_ns // 1_000_000_000 - 1_700_000_000) // step_s


def flat(days: float, seed: int = 0) -> np.ndarray:
    return 50 + np.random.default_rng(seed).normal(0, 1.0, int(days * DAY))


def test_a_moderate_deviation_that_persists_for_hours_is_raised_as_persistent():
    values = flat(21, seed=3)
    start = 18 * DAY + DAY // 2
    values[start : start + DAY // 2] += 2.0  # 2 σ for twelve hours: no single reading is odd, the hours are
    found = raises(run(values))
    assert [c.rule for c in found] == [PERSISTENT], [c.message for c in found]
    assert start <= reading_of(found[0]) <= start + DAY // 2
    assert "on average over many readings" in found[0].message


def test_without_its_budget_share_the_persistent_condition_is_off():
    values = flat(21, seed=3)
    start = 18 * DAY + DAY // 2
    values[start : start + DAY // 2] += 2.0
    detector = LearnedNormalDetector(learned_params(1, np.array([0]), LearnedSettings(persistent_share=0)), ["s0"])
    assert raises(run(values, detector)) == []


def test_a_spike_that_recurs_at_the_same_hour_every_day_is_raised_once_not_daily():
    values = daily(21, seed=4)
    at_three = DAY // 8
    for day in range(7, 21):
        values[day * DAY + at_three] += 80
    found = raises(run(values))
    assert [reading_of(c) // DAY for c in found] == [7], [c.message for c in found]


def test_the_same_spike_at_another_hour_is_still_raised():
    values = daily(21, seed=4)
    at_three = DAY // 8
    for day in range(7, 17):
        values[day * DAY + at_three] += 80
    odd_hour = 18 * DAY + DAY // 2
    values[odd_hour] += 80
    found = raises(run(values))
    assert [reading_of(c) // DAY for c in found] == [7, 18], [c.message for c in found]


def test_an_hourly_signal_is_watched_within_days_not_after_288_readings():
    hourly = 3600
    values = 50 + np.random.default_rng(6).normal(0, 1.0, 24 * 20)
    values[24 * 5 + 10 : 24 * 5 + 13] += 20  # day 5: 130 readings in, far fewer than 288
    found = raises(run(values, step_s=hourly))
    assert len(found) == 1
    assert reading_of(found[0], hourly) in range(24 * 5 + 10, 24 * 5 + 13)
