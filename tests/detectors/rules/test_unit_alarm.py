"""A multivariate group's alarm belongs to the unit: a member's own health alarm does not withdraw it."""

from __future__ import annotations

import numpy as np
import yaml

from collector.pipeline.detection import build_detector_stack
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.rules.multivariate_rule import MULTIVARIATE
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.examples import PLANT_EXAMPLE
from hazwatch.config.loader import parse_config
from hazwatch.events import Transition
from tests.support.detectors import SECOND, T0, of_rule

STEP_S = 2.0
GROUP = ["R101-FT-CW", "R101-PT", "R101-TT-A", "R101-LT"]
"""The example's R-101 unit model with the cooling-water flow first: the member the alarm used to live on."""


def r101(t: np.ndarray, flat_from: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    load = np.sin(2 * np.pi * t / 900) + 0.5 * np.sin(2 * np.pi * t / 370 + 1)
    temperature = 70 + 0.3 * load
    flow = 27 + 3 * load + rng.normal(0, 0.1, len(t))
    flow[t >= flat_from] = 8.0  # the cooling water all but stops: the flow reads one low value from then on
    return {
        "R101-TT-A": np.round(temperature + rng.normal(0, 0.05, len(t)), 1),
        "R101-TT-B": np.round(temperature + rng.normal(0, 0.05, len(t)), 1),
        "R101-TT-C": np.round(temperature + rng.normal(0, 0.05, len(t)), 1),
        "R101-PT": 247 * 2 ** ((temperature - 70) / 20) + rng.normal(0, 0.5, len(t)),
        "R101-FT-CW": flow,
        "R101-LT": 50 + rng.normal(0, 0.1, len(t)),
    }


def test_the_units_alarm_survives_the_member_it_is_shown_on_going_flat() -> None:
    document = yaml.safe_load(PLANT_EXAMPLE.read_text())
    for group in document["sites"][0]["groups"]:
        if group["type"] == "multivariate":
            group["sensors"] = GROUP
    config = parse_config(document)
    registry = SensorRegistry.from_config(config)
    lifecycle = AlarmLifecycle()
    stack = build_detector_stack(registry, config, lifecycle)
    site = config.sites[0].id
    slot = {s.sensor: s.slot for s in registry}

    t = np.arange(0, 6600, STEP_S)
    flat_from = 2000.0
    quiet = np.array([max(s.range_min, 0) + 0.02 * (s.range_max - s.range_min) for s in registry])
    values = np.tile(quiet, (len(t), 1))
    values *= 1 + 0.002 * np.random.default_rng(1).standard_normal(values.shape)
    for sensor, series in r101(t, flat_from).items():
        values[:, slot[sensor]] = series
    n = len(registry)
    times = T0 + (t * SECOND).astype(np.int64)
    events = []
    for lo in range(0, len(t), 30):  # a minute of polls per batch, as the collector hands them over
        k = len(times[lo : lo + 30])
        batch = ReadingBatch.from_columns(
            np.tile(np.arange(n), k), np.repeat(times[lo : lo + 30], n), values[lo : lo + 30].ravel()
        )
        events += stack.update(batch)

    flow = registry.slot(site, "R101-FT-CW")
    stuck = of_rule(events, "health.stuck", flow)
    assert stuck and stuck[0].transition is Transition.RAISE, "the flat flow is (also) a stuck sensor"
    unit = of_rule(events, MULTIVARIATE)
    assert unit and unit[0].transition is Transition.RAISE
    assert flat_from < (unit[0].time_ns - T0) / SECOND < (stuck[0].time_ns - T0) / SECOND, "the unit saw it first"
    after_stuck = [e for e in unit if e.time_ns >= stuck[0].time_ns]
    assert not any(e.level == 0 for e in after_stuck), [e.message for e in after_stuck]
    assert unit[-1].level == 1, "the unit is still abnormal at the end"
    shown = lifecycle.status(slot["R101-FT-CW"], MULTIVARIATE)
    assert shown is not None and shown.level == 1
    assert "without flow at R101-FT-CW (health.stuck)" in shown.message, "it says who was left out of the model"
