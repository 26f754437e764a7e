"""Exposure rules: time-weighted 15-minute STEL and 8-hour TWA for toxic gases."""

from __future__ import annotations

import numpy as np

from detectors.rules.exposure import STEL, TWA, ExposureDetector, ExposureParams
from hazwatch.batch import ReadingBatch
from tests.support.detectors import SECOND, T0

CO_TWA, CO_STEL = 17.2, 25.8


def co_detector() -> ExposureDetector:
    one = np.ones(1)
    return ExposureDetector(ExposureParams(CO_STEL * one, CO_TWA * one, 30 * one), ["CO at LD-CO"], ["ppm"])


def feed(d: ExposureDetector, ppm: np.ndarray, period_s: float = 10.0):
    times = T0 + (np.arange(len(ppm)) * period_s * SECOND).astype(np.int64)
    return d.update(ReadingBatch.from_columns(np.zeros(len(ppm), dtype=np.int32), times, ppm))


def test_a_short_burst_over_the_stel_raises_it_and_not_the_twa() -> None:
    """20 min at 40 ppm in an otherwise clean shift: the 15-min average passes 25.8 ppm, the 8-h one stays low."""
    ppm = np.r_[np.full(360, 2.0), np.full(120, 40.0), np.full(360, 2.0)]
    changes = feed(co_detector(), ppm)
    stel = [c for c in changes if c.rule == STEL]
    assert [c.level for c in stel] == [1, 0]
    raised_min = (stel[0].time_ns - T0) / 60e9
    assert 60 + 9 <= raised_min <= 60 + 12, "40 ppm for ~9.7 min brings the 15-min mean to 25.8 ppm"
    assert not [c for c in changes if c.rule == TWA]


def test_a_peak_too_short_for_the_stel_raises_nothing() -> None:
    ppm = np.r_[np.full(60, 2.0), np.full(18, 60.0), np.full(200, 2.0)]
    assert feed(co_detector(), ppm) == []


def test_a_shift_near_the_limit_raises_the_twa() -> None:
    ppm = np.full(9 * 360, 18.0)
    twa = [c for c in feed(co_detector(), ppm) if c.rule == TWA]
    assert [c.level for c in twa] == [1]
    assert abs((twa[0].time_ns - T0) / 3600e9 - 8 * 17.2 / 18.0) < 0.1, "when 8-h exposure reaches 17.2 ppm·8 h"


def test_a_long_gap_counts_only_up_to_the_gap_limit() -> None:
    """A sensor silent for an hour after reading 40 ppm is not assumed to have read 40 ppm all that time."""
    d = co_detector()
    times = T0 + np.array([0, 10, 3600, 3610]) * SECOND
    changes = d.update(ReadingBatch.from_columns(np.zeros(4, dtype=np.int32), times, [40.0, 40.0, 2.0, 2.0]))
    assert changes == []
