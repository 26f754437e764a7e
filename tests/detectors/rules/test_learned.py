"""The learned-normal rule: quiet on a signal's own normal (daily pattern included), loud on what stays unusual,
and it lets go after a real change of operating point."""

import numpy as np

from detectors.rules.learned import UNUSUAL, LearnedNormalDetector, LearnedParams, LearnedSettings, params_from
from hazwatch.batch import ReadingBatch

STEP_S = 300
DAY = 86400 // STEP_S


def learned_params(n: int, members: np.ndarray) -> LearnedParams:
    """The rule's defaults for the `members` slots of `n`, the others left out."""
    chosen: list[LearnedSettings | None] = [None] * n
    for slot in np.arange(n)[members].tolist():
        chosen[slot] = LearnedSettings()
    return params_from(chosen)


def daily(days: float, seed: int = 0, noise: float = 1.0) -> np.ndarray:
    k = np.arange(int(days * DAY))
    return 50 + 20 * np.sin(2 * np.pi * k / DAY) + np.random.default_rng(seed).normal(0, noise, len(k))


def run(values: np.ndarray, detector: LearnedNormalDetector | None = None, chunk: int = 64) -> list:
    """Feed columns (readings × sensors) every STEP_S seconds; returns the rule's changes."""
    values = values.reshape(len(values), -1)
    n, m = values.shape
    detector = detector or LearnedNormalDetector(learned_params(m, np.arange(m)), [f"s{i}" for i in range(m)])
    changes = []
    for lo in range(0, n, chunk):
        block = values[lo : lo + chunk]
        k = len(block)
        times = (1_700_000_000 + (lo + np.arange(k)) * STEP_S) * 1_000_000_000
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
    assert all(c.rule == UNUSUAL for c in changes)


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
