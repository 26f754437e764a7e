"""The one judgement of a reading against its limits, shared by the threshold rule, the views and the checker."""

from __future__ import annotations

import math

import numpy as np

from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.limits import LimitLevel, Limits, first_high_limit, level_bands, level_reached, limit_of, reaches

FACE = Limits(
    high=[LimitLevel(level=1, name="alarm", value=1.0), LimitLevel(level=2, name="power_cut", value=1.5, reset=1.0)]
)
OXYGEN = Limits(
    high=[LimitLevel(level=1, name="enriched", value=23.5)],
    low=[LimitLevel(level=1, name="low", value=19.5), LimitLevel(level=2, name="deficient", value=18.0)],
)


def test_a_reading_at_the_limit_reaches_it_on_either_side_and_nan_reaches_nothing() -> None:
    assert reaches(1.0, 1.0, True) and not reaches(0.999, 1.0, True)
    assert reaches(19.5, 19.5, False) and not reaches(19.6, 19.5, False)
    assert reaches(np.array([0.5, 1.0, math.nan]), 1.0, True).tolist() == [False, True, False]


def test_the_level_reached_is_the_highest_level_whose_limit_the_reading_reaches() -> None:
    assert [level_reached(FACE, v) for v in (0.4, 1.0, 1.49, 1.5, 3.9, math.nan)] == [0, 1, 1, 2, 2, 0]
    assert [level_reached(OXYGEN, v) for v in (20.9, 19.5, 17.0, 23.5)] == [0, 1, 2, 1]


def test_each_plotted_band_holds_exactly_the_readings_that_reach_its_level_and_not_the_next() -> None:
    for limits in (FACE, OXYGEN):
        for lv, bottom, top in level_bands(limits, 0.0, 30.0):
            inside = np.linspace(bottom, top, 50)[1:-1]
            assert {level_reached(limits, float(v)) for v in inside} == {lv.level}, (lv, bottom, top)


def test_a_level_is_found_by_side_and_number() -> None:
    assert limit_of(OXYGEN, False, 2).value == 18.0
    assert limit_of(OXYGEN, True, 2) is None
    assert first_high_limit(FACE) == 1.0 and first_high_limit(Limits()) == math.inf


def test_every_example_sensor_has_limits_the_bands_cover_without_gaps() -> None:
    for name in ("coal-mine.yaml", "chemical-plant.yaml"):
        for info in SensorRegistry.from_config(load_config(EXAMPLES / name)):
            for lv, bottom, top in level_bands(info.limits, info.range_min, info.range_max):
                assert level_reached(info.limits, lv.value) >= lv.level
                assert bottom <= top
