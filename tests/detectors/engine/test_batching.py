"""Batching never changes what the per-sensor rules decide.

Sources deliver one reading, one poll cycle, or minutes of back-filled data at once; the stack must raise
and clear exactly the same conditions, at the same reading times, as if every reading came alone.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from collector.pipeline.detection import build_detector_stack
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.engine.setup import Setup
from detectors.engine.stack import DetectorStack
from detectors.rules.exposure import ExposureDetector, exposure_params
from detectors.rules.health import HealthDetector, health_params
from detectors.rules.threshold import threshold_detector
from detectors.rules.trend import TrendDetector, trend_params
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from tests.support.detectors import SECOND, T0

CONFIG = load_config(EXAMPLES / "coal-mine.yaml")
REGISTRY = SensorRegistry.from_config(CONFIG)
WATCHED = ["LW-CH4-T0", "LW-CH4-T1", "LW-CH4-T2", "LW-CO-T0", "LW-CO-T2", "LW-O2-T1", "LW-AV-FACE", "LW-TEMP-T1"]
SLOTS = np.array([REGISTRY.slot("xinyuan-mine", s) for s in WATCHED])
SCALE = np.array([1.0, 1.0, 1.0, 20.0, 20.0, 16.0, 2.0, 22.0])
"""Multiplies a CH4-like value (0–4.5) into each kind's interesting range (CO ≈ 24 ppm, O2 ≈ 18.5 %...)."""


def per_sensor_stack() -> DetectorStack:
    """Every rule that decides per reading (group rules align sensors per batch and are left out)."""
    setup = Setup(REGISTRY, CONFIG)
    labels, units = setup.labels, [s.unit for s in REGISTRY]
    health = dataclasses.replace(health_params(setup), airflow_paths=())
    rules = [
        HealthDetector(health, labels, units),
        threshold_detector(setup),
        ExposureDetector(exposure_params(setup), labels, units),
        TrendDetector(trend_params(setup), labels, units),
    ]
    return DetectorStack(len(REGISTRY), rules, AlarmLifecycle())


def one_at_a_time(batch: ReadingBatch) -> list:
    stack = per_sensor_stack()
    ordered = batch.sorted_by_time()
    events = []
    for i in range(len(ordered)):
        events += stack.update(ordered.take(np.array([i])))
    return events


def in_batches(batch: ReadingBatch, cuts: list[int], shuffle_seed: int | None) -> list:
    stack = per_sensor_stack()
    ordered = batch.sorted_by_time()
    events = []
    for part in np.split(np.arange(len(ordered)), sorted(set(cuts))):
        if not len(part):
            continue
        if shuffle_seed is not None:
            part = np.random.default_rng(shuffle_seed).permutation(part)
        events += stack.update(ordered.take(part))
    return events


def canonical(events: list) -> list:
    """Each event's identity, verb, level and time; figures to 9 digits, as block sums round differently by
    batch (so a message may print 0.517 instead of 0.518: its words are compared, not its digits)."""
    return sorted(
        (
            e.time_ns,
            e.slot,
            e.rule,
            e.event_id,
            e.transition,
            e.level,
            re.sub(r"[-\d.]+", "#", e.message),
            round(e.value, 9),
            e.limit,
        )
        for e in events
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[ReadingBatch, list[int], int | None]:
    steps = draw(st.integers(1, 80))
    gaps = draw(arrays(np.int64, steps, elements=st.integers(1, 20)))
    times = T0 + np.cumsum(gaps) * SECOND
    present = draw(arrays(np.bool_, (steps, len(SLOTS)), elements=st.booleans()))
    level = st.sampled_from([0.0, 0.3, 0.99, 1.0, 1.2, 1.49, 1.5, 1.6, 3.9, -0.5, 4.6]) | st.floats(0, 4.5)
    values = draw(arrays(np.float64, (steps, len(SLOTS)), elements=level)) * SCALE
    quality = draw(arrays(np.uint8, (steps, len(SLOTS)), elements=st.sampled_from([0, 0, 0, 0, 0, 1, 2, 3, 4])))
    step, column = np.nonzero(present)
    batch = ReadingBatch.from_columns(SLOTS[column], times[step], values[step, column], quality[step, column])
    cuts = draw(st.lists(st.integers(0, len(batch)), max_size=6))
    shuffle = draw(st.none() | st.integers(0, 1000))
    return batch, cuts, shuffle


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_any_batching_raises_the_same_conditions_as_one_reading_at_a_time(history) -> None:
    batch, cuts, shuffle = history
    assert canonical(in_batches(batch, cuts, shuffle)) == canonical(one_at_a_time(batch))


@pytest.mark.parametrize("batch_steps", [1, 13, 150, 2000])
def test_long_ramps_give_the_same_trend_and_exposure_conditions_in_any_batch_size(batch_steps: int) -> None:
    """Half an hour of rising methane and CO, with noise, cut into batches of different sizes."""
    rng = np.random.default_rng(1)
    steps = 900
    minutes = np.arange(steps) * 2 / 60
    values = np.column_stack(
        [
            0.3 + 0.03 * minutes,
            0.4 + 0.025 * minutes,
            0.2 + 0.01 * minutes,
            5 + 1.5 * minutes,
            2 + minutes,
            np.full(steps, 20.9),
            np.full(steps, 2.0),
            20 + 0.8 * minutes,
        ]
    ) + rng.normal(0, 0.01, (steps, len(SLOTS)))
    times = T0 + (np.arange(steps) * 2 * SECOND).astype(np.int64)
    batch = ReadingBatch.from_columns(np.tile(SLOTS, steps), np.repeat(times, len(SLOTS)), values.ravel())
    reference = canonical(one_at_a_time(batch))
    cuts = list(range(0, len(batch), batch_steps * len(SLOTS)))
    assert canonical(in_batches(batch, cuts, None)) == reference
    rules = {rule for _, _, rule, *_ in reference}
    assert {"trend.forecast", "trend.rate", "exposure.stel", "threshold.high"} <= rules


def test_one_sensor_back_filling_an_hour_beside_a_cycle_of_all_others() -> None:
    """A skewed batch (one slot 1800 readings, the rest one each) is laid out in chunks, with the same result."""
    t = T0 + np.arange(1800) * 2 * SECOND
    ch4 = 0.4 + 0.001 * np.arange(1800)
    others = SLOTS[1:]
    batch = ReadingBatch.concat(
        [
            ReadingBatch.from_columns(np.full(1800, SLOTS[0]), t, ch4),
            ReadingBatch.from_columns(others, np.full(len(others), t[-1]), np.full(len(others), 1.7) * SCALE[1:]),
        ]
    )
    assert canonical(in_batches(batch, [], 5)) == canonical(one_at_a_time(batch))


def test_a_whole_poll_cycle_decides_as_the_same_readings_split_by_odd_and_even_slots() -> None:
    """A cycle of consecutive slots takes the stack's slice fast paths; the same readings in two interleaved
    batches take the gather paths: the whole stack (group rules too) must raise and clear the same alarms."""
    n = len(REGISTRY)
    rng = np.random.default_rng(3)
    steps = 600
    minutes = np.arange(steps) * 2 / 60
    values = (REGISTRY.range_min + 0.05 * (REGISTRY.range_max - REGISTRY.range_min)) * (
        1 + 0.002 * rng.standard_normal((steps, n))
    )
    values[:, SLOTS] = (0.4 + 0.15 * minutes)[:, None] * SCALE + rng.normal(0, 0.01, (steps, len(SLOTS)))
    values[150:160, SLOTS[0]] = 4.6
    times = T0 + np.arange(steps) * 2 * SECOND
    whole = build_detector_stack(REGISTRY, CONFIG, AlarmLifecycle())
    split = build_detector_stack(REGISTRY, CONFIG, AlarmLifecycle())
    slots = np.arange(n)
    by_cycle, by_halves = [], []
    for step in range(steps):
        batch = ReadingBatch.from_columns(slots, times[step], values[step])
        by_cycle += whole.update(batch)
        for half in (slots[::2], slots[1::2]):
            by_halves += split.update(batch.take(half))
        by_cycle += whole.tick(int(times[step]) + SECOND)
        by_halves += split.tick(int(times[step]) + SECOND)
    assert canonical(by_cycle) == canonical(by_halves)
    rules = {rule for _, _, rule, *_ in canonical(by_cycle)}
    assert {"trend.rate", "exposure.stel", "threshold.high"} <= rules
