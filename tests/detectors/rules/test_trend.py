"""Trend rules: time-to-limit forecast, rate of rise, drift from a learned baseline."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.engine.setup import Setup
from detectors.false_alarm import two_sided_cusum_h
from detectors.rules import trend
from detectors.rules.threshold import HIGH
from hazwatch.config import SensorRegistry
from hazwatch.config.loader import parse_config
from hazwatch.events import Transition
from tests.support.detectors import SECOND, T0, of_rule


def test_a_slow_methane_rise_is_forecast_before_the_limit_is_crossed(mine) -> None:
    """A stopped local fan: CH4 climbs ≈ 0.02 %/min from 0.4 % (DOMAIN.md §4), with sensor noise."""
    rng = np.random.default_rng(11)
    minutes = np.arange(0, 45 * 60, 2.0) / 60
    ch4 = 0.4 + 0.02 * minutes + rng.normal(0, 0.015, len(minutes))
    events = mine.cycles(0, len(minutes), 2.0, {"HD-CH4-T1": ch4}, noise=0.01)
    slot = mine.slot("HD-CH4-T1")
    forecast = of_rule(events, trend.FORECAST, slot)
    crossed = of_rule(events, HIGH, slot)
    assert forecast and crossed
    assert forecast[0].transition is Transition.RAISE
    lead_min = (crossed[0].time_ns - forecast[0].time_ns) / 60e9
    assert 8 <= lead_min <= 16, f"warned {lead_min:.1f} min ahead with a 15 min horizon"
    assert "CH4 at HD-CH4-T1 will reach 1 % in about" in forecast[0].message
    said = int(forecast[0].message.split("about ")[1].split(" min")[0])
    assert abs(said - lead_min) <= 3
    assert forecast[0].value < 1.0


def test_steady_noisy_methane_is_not_forecast(mine) -> None:
    rng = np.random.default_rng(12)
    ch4 = 0.6 + rng.normal(0, 0.02, 1800)
    events = mine.cycles(0, 1800, 2.0, {"HD-CH4-T1": ch4}, noise=0.01)
    assert of_rule(events, trend.FORECAST) == []
    assert of_rule(events, trend.RATE) == []


def test_a_spike_does_not_bend_the_robust_forecast(mine) -> None:
    """Theil–Sen: one interference spike in the window must not make a flat reading look like a rise."""
    ch4 = np.full(600, 0.6)
    ch4 += np.random.default_rng(2).normal(0, 0.01, 600)
    ch4[590] = 3.9
    events = mine.cycles(0, 600, 2.0, {"HD-CH4-T1": ch4}, noise=0.01)
    assert of_rule(events, trend.FORECAST) == []


def test_a_fast_rise_raises_the_rate_alarm_and_it_clears_when_steady(mine) -> None:
    ch4 = np.r_[np.full(60, 0.3), 0.3 + 0.5 * np.arange(1, 31) / 30, np.full(120, 0.8)]
    events = mine.cycles(0, len(ch4), 2.0, {"LW-CH4-T0": ch4}, noise=0.01)
    rate = of_rule(events, trend.RATE, mine.slot("LW-CH4-T0"))
    assert [e.transition for e in rate] == [Transition.RAISE, Transition.CLEAR]
    assert 120 <= (rate[0].time_ns - T0) / SECOND <= 200


def test_drift_from_the_baseline_is_caught_and_not_learned_as_normal() -> None:
    from detectors.rules.trend import TrendDetector, TrendParams
    from hazwatch.batch import ReadingBatch

    one = np.ones(1)
    params = TrendParams(
        block_s=60 * one,
        rate_limit_per_min=np.nan * one,
        rate_blocks=0 * one.astype(int),
        forecast_target=np.nan * one,
        forecast_blocks=0 * one.astype(int),
        forecast_horizon_s=np.nan * one,
        drift_k=0.5 * one,
        drift_h=8.0 * one,
        drift_baseline_s=3600 * one,
        drift_sigma_floor=0.05 * one,
        drift_warmup_blocks=(30 * one).astype(int),
        freeze_above=np.inf * one,
    )
    d = TrendDetector(params, ["CO at BT-CO-HEAD"], ["ppm"])
    rng = np.random.default_rng(5)
    hours = 6
    t = np.arange(0, hours * 3600, 10.0)
    co = 2.0 + rng.normal(0, 0.3, len(t))
    co[t >= 3 * 3600] += 1.5
    times = T0 + (t * SECOND).astype(np.int64)
    changes = d.update(ReadingBatch.from_columns(np.zeros(len(t), dtype=np.int32), times, co))
    drift = [c for c in changes if c.rule == trend.DRIFT]
    assert [c.level for c in drift] == [1], "raised once after the shift and held while it lasts"
    assert 3 * 3600 <= (drift[0].time_ns - T0) / SECOND <= 3 * 3600 + 1800
    assert "drifting up" in drift[0].message
    assert abs(d.baseline[0] - 2.0) < 0.2, "the baseline was not dragged to the new level"


def test_a_drift_budget_sets_the_cusum_threshold_instead_of_the_hand_set_h() -> None:
    def drift_h(drift: dict) -> float:
        sensor = {"id": "flow-1", "kind": "generic", "detect": {"drift": drift}}
        area = {"id": "a", "kind": "process_unit", "sensors": [sensor]}
        config = parse_config({"sites": [{"id": "s", "type": "chemical_plant", "areas": [area]}]}, source="test")
        return float(trend.trend_params(Setup(SensorRegistry.from_config(config), config)).drift_h[0])

    assert drift_h({}) == 8.0
    assert drift_h({"h": 6.0}) == 6.0
    assert drift_h({"budget_per_day": 1.0}) == pytest.approx(two_sided_cusum_h(0.5, 1.0, 60.0))
    # five-minute blocks take a fifth of the steps a day, so each step may be judged more loosely
    assert drift_h({"budget_per_day": 1.0, "block_s": 300}) < drift_h({"budget_per_day": 1.0})
    assert drift_h({"budget_per_day": 0.1}) > drift_h({"budget_per_day": 1.0})
