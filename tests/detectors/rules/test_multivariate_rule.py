"""multi.multivariate: the R-101 unit model of the example plant, calibrated online, alarming on a broken pattern.

The example config groups R-101's temperature, pressure, cooling-water flow and level. In normal operation
they move together with the reactor's load; a member leaving that joint pattern must raise one alarm on the
unit's own slot (R101-UNIT) long before any single-sensor limit, and nothing else may.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import yaml

from collector.pipeline.detection import build_rules
from detectors.rules.multivariate_rule import MULTIVARIATE, MultivariateRule, MultivariateSpec
from detectors.rules.threshold import HIGH
from hazwatch.batch import ReadingBatch
from hazwatch.config import ConfigError, SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.loader import parse_config
from hazwatch.events import Transition
from hazwatch.quality import Quality
from tests.support.detectors import SECOND, T0, of_rule

STEP_S = 2.0
FIT_S = 400 * STEP_S
"""The example group keeps the default fit_samples (400): at the plant's 2 s poll, 800 s of calibration."""
UNIT = ("R101-TT-A", "R101-TT-B", "R101-TT-C", "R101-PT", "R101-FT-CW", "R101-LT")


def unit_readings(
    t: np.ndarray, seed: int, temperature_offset: np.ndarray | float = 0.0, pressure_offset: np.ndarray | float = 0.0
) -> dict[str, np.ndarray]:
    """R-101 under a swinging load: temperature follows the load, pressure its vapour pressure (doubling per
    +20 °C), the cooling-water controller the load; level is held. Offsets are faults that break the pattern."""
    rng = np.random.default_rng(seed)
    load = np.sin(2 * np.pi * t / 900) + 0.5 * np.sin(2 * np.pi * t / 370 + 1)
    temperature = 70 + 0.3 * load
    pressure = 247 * 2 ** ((temperature - 70) / 20) + rng.normal(0, 0.5, len(t)) + pressure_offset
    measured = np.round(temperature + rng.normal(0, 0.05, len(t)) + temperature_offset, 1)
    return {
        "R101-TT-A": measured,
        "R101-TT-B": measured,
        "R101-TT-C": measured,
        "R101-PT": pressure,
        "R101-FT-CW": 27 + 3 * load + rng.normal(0, 0.1, len(t)),
        "R101-LT": 50 + rng.normal(0, 0.1, len(t)),
    }


def seconds(event) -> float:
    return (event.time_ns - T0) / SECOND


def test_normal_operation_after_calibration_raises_nothing(plant) -> None:
    t = np.arange(0, 2 * 3600, STEP_S)
    events = plant.cycles(0, len(t), STEP_S, unit_readings(t, seed=1), noise=0.002)
    assert of_rule(events, MULTIVARIATE) == []


def test_temperature_climbing_while_pressure_stays_is_one_unit_episode_before_any_limit(plant) -> None:
    t = np.arange(0, 3600, STEP_S)
    start, climb_s = FIT_S + 800, 480
    climb = np.clip(t - start, 0, climb_s) * 1.0 / 60  # +1 °C/min for 8 min, pressure unmoved
    events = plant.cycles(0, len(t), STEP_S, unit_readings(t, seed=3, temperature_offset=climb), noise=0.002)
    alarms = of_rule(events, MULTIVARIATE)
    assert [e.transition for e in alarms] == [Transition.RAISE, Transition.CLEAR], "one episode, no chattering"
    raised, cleared = alarms
    assert raised.slot == plant.slot("R101-UNIT"), "shown on the unit's own slot"
    assert raised.slot not in {plant.slot(sensor) for sensor in UNIT}
    assert (raised.level, raised.level_name, raised.priority, raised.category) == (
        1,
        "unit_abnormal",
        "medium",
        "process",
    )
    assert "R-101 unit model" in raised.message
    assert start < seconds(raised) <= start + 120, f"raised {seconds(raised) - start:.0f} s into the climb"
    assert of_rule(events, HIGH, plant.slot("R101-TT-A")) == [], "the temperature never reached its 85 °C limit"
    # Temperature is watched by its rate (docs/evaluation.md): once it stops climbing, the unit is normal again.
    assert start + climb_s < seconds(cleared) <= start + climb_s + 180
    assert cleared.value < 1.0, "never cleared with the score still over the limit"


def test_pressure_creeping_away_from_temperature_and_flow_is_caught_far_below_its_limit(plant) -> None:
    t = np.arange(0, 3600, STEP_S)
    start = FIT_S + 400
    creep = np.clip(t - start, 0, None) * 2.0 / 60  # +2 kPa/min, the other members unchanged
    events = plant.cycles(0, len(t), STEP_S, unit_readings(t, seed=3, pressure_offset=creep), noise=0.002)
    raised = of_rule(events, MULTIVARIATE)
    assert raised and raised[0].transition is Transition.RAISE
    assert start < seconds(raised[0]) <= start + 300, "within minutes of the creep starting"
    assert creep[np.searchsorted(t, seconds(raised[0]))] <= 10, "a few kPa off the pattern, on ~247 kPa"
    assert of_rule(events, HIGH, plant.slot("R101-PT")) == [], "long before the 450 kPa high limit"


def test_a_member_in_calibration_or_offline_does_not_break_the_pattern(plant) -> None:
    t = np.arange(0, 3600, STEP_S)
    readings = unit_readings(t, seed=4)
    events = []
    for i, now in enumerate(t.tolist()):
        values = {sensor: float(series[i]) for sensor, series in readings.items()}
        quality = {}
        if 1600 <= now < 1900:
            values["R101-PT"], quality["R101-PT"] = 600.0, Quality.CALIBRATION  # test pressure applied
        if 2200 <= now < 2500:
            values["R101-FT-CW"], quality["R101-FT-CW"] = float("nan"), Quality.OFFLINE
        events += plant.cycle(now, values, quality)
    assert of_rule(events, "health.calibration", plant.slot("R101-PT")), "the calibration itself is recorded"
    assert of_rule(events, MULTIVARIATE) == []


def swinging_unit(seed: int, seconds: int = 400) -> np.ndarray:
    """Four sensors of a unit at 1 Hz, tied to one load cycle of 40 s, with sensor noise."""
    t = np.arange(seconds)
    rng = np.random.default_rng(seed)
    load = np.sin(2 * np.pi * t / 40)
    tied = np.column_stack([load, 2 * load, -load, 0.5 * np.cos(2 * np.pi * t / 40)])
    return tied + rng.normal(0, 0.05, tied.shape)


def feed(rule: MultivariateRule, rows: np.ndarray, cycles_per_batch: int = 1) -> list[tuple[float, int]]:
    """Rows as poll cycles at 1 Hz (NaN = that sensor did not report); returns (seconds, level) per change."""
    out = []
    for a in range(0, len(rows), cycles_per_batch):
        chunk = rows[a : a + cycles_per_batch]
        slot, cycle = np.nonzero(~np.isnan(chunk.T))
        times = T0 + (a + cycle) * SECOND
        batch = ReadingBatch.from_columns(slot, times, chunk[cycle, slot])
        out += [((c.time_ns - T0) / SECOND, c.level) for c in rule.update(batch)]
    return out


def test_the_model_calibrates_only_on_rows_where_every_member_reports_and_emits_nothing_before() -> None:
    rows = swinging_unit(seed=5)
    rows[:100, 3] = np.nan  # member 3 not connected yet ...
    rows[:100, 1] += 1.0  # ... while member 1 is off the unit's pattern (e.g. still being commissioned)
    rows[240:300, 1] += 1.0  # the same break, once the unit is calibrated
    rule = MultivariateRule(4, [MultivariateSpec("unit", 4, (0, 1, 2, 3), fit_samples=120, off_delay_s=10)])
    changes = feed(rule, rows)
    assert [level for _, level in changes] == [1, 0], "rows without member 3 are no calibration"
    raised_s, cleared_s = (s for s, _ in changes)
    assert 240 <= raised_s < 250
    assert 300 < cleared_s < 330


def test_calibration_start_keeps_an_upset_before_it_out_of_the_model() -> None:
    rows = swinging_unit(seed=7, seconds=500)
    rows[:150, 1] += 1.0  # the unit starts up off its normal pattern, then settles at 150 s

    def run(calibration_start_s: float | None) -> list[tuple[float, int]]:
        start_ns = None if calibration_start_s is None else T0 + int(calibration_start_s * SECOND)
        spec = MultivariateSpec("unit", 4, (0, 1, 2, 3), fit_samples=120, off_delay_s=10, calibration_start_ns=start_ns)
        return feed(MultivariateRule(4, [spec]), rows)

    assert [level for _, level in run(None)][:1] == [1], "calibrated on the start-up, normal operation is a break"
    assert run(160.0) == [], "calibrated from 160 s on, the settled unit is normal, and nothing before is judged"


def test_the_configured_target_rate_and_calibration_start_reach_the_unit_model() -> None:
    document = yaml.safe_load((EXAMPLES / "chemical-plant.yaml").read_text())
    (group,) = [g for g in document["sites"][0]["groups"] if g["type"] == "multivariate"]
    group |= {"target_false_alarm_rate": 0.003, "calibration_start": "2026-12-01T06:00:00Z"}
    config = parse_config(document)
    registry = SensorRegistry.from_config(config)
    (rule,) = [r for r in build_rules(registry, config) if isinstance(r, MultivariateRule)]
    (unit,) = rule.units
    assert unit.detector.params.target_false_alarm_rate == 0.003
    assert unit.spec.calibration_start_ns == int(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp()) * SECOND
    assert unit.spec.slot == registry.slot(config.sites[0].id, "R101-UNIT") >= len(registry)


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"id": "R101-PT"}, ".id", "a sensor of this site has this id"),
        ({"id": "R-101-runaway"}, ".id", "id of groups[0] too"),
        ({"area": "nowhere"}, ".area", "no such area in this site"),
    ],
)
def test_a_group_id_or_area_that_cannot_name_its_alarm_is_refused(change, path, reason) -> None:
    document = yaml.safe_load((EXAMPLES / "chemical-plant.yaml").read_text())
    groups = document["sites"][0]["groups"]
    index = next(i for i, g in enumerate(groups) if g["type"] == "multivariate")
    groups[index] |= change
    with pytest.raises(ConfigError) as refused:
        parse_config(document)
    assert any(
        problem.path == f"sites[0].groups[{index}]{path}" and reason in problem.reason
        for problem in refused.value.problems
    ), refused.value.problems


def test_batching_does_not_change_the_alarms() -> None:
    rows = swinging_unit(seed=6)
    rows[200:260, 2] -= 1.0

    def run(cycles_per_batch: int) -> list[tuple[float, int]]:
        rule = MultivariateRule(4, [MultivariateSpec("unit", 4, (0, 1, 2, 3), fit_samples=120, off_delay_s=10)])
        return feed(rule, rows, cycles_per_batch)

    one = run(1)
    assert [level for _, level in one] == [1, 0]
    assert run(37) == one == run(len(rows))


def test_a_group_too_small_to_calibrate_is_refused_with_the_path_of_the_field(tmp_path) -> None:
    text = (EXAMPLES / "chemical-plant.yaml").read_text()
    group = "  - type: multivariate\n    name: R-101 unit model\n"
    assert group in text
    bad = tmp_path / "plant.yaml"
    bad.write_text(text.replace(group, group + "    fit_samples: 25\n"))
    with pytest.raises(ConfigError) as refused:
        load_config(bad)
    (problem,) = refused.value.problems
    assert problem.path.startswith("sites[0].groups[") and "at least 28 for 4 sensors" in problem.reason


def test_a_group_built_without_the_config_is_checked_too() -> None:
    with pytest.raises(ValueError, match=r"'unit': fit_samples must be at least 26 for 3 sensors"):
        MultivariateRule(3, [MultivariateSpec("unit", 3, (0, 1, 2), fit_samples=25)])
    with pytest.raises(ValueError, match="two distinct sensors"):
        MultivariateRule(3, [MultivariateSpec("unit", 3, (1, 1))])
