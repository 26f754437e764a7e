"""The presets the demo, the benchmarks and the protocol tests run on: the scenario physics of one site config."""

from __future__ import annotations

import numpy as np
import pytest

from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.limits import reaches
from simulators.physics.presets import mine_preset, plant_preset
from simulators.physics.site import SERVE_WINDOW_S, SimulatedSite

THREE_HOURS = np.arange(0.0, 3 * 3600.0, 1.0)


def served(model: SimulatedSite, times: np.ndarray) -> np.ndarray:
    """What the Modbus and MQTT servers would send at each time: rows are times, columns sensors."""
    return np.stack([model.sample(float(t))[0] for t in times])


def longest_run(over: np.ndarray) -> int:
    """The longest stretch of consecutive True values."""
    edges = np.diff(np.concatenate(([0], over.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max(initial=0))


PRESETS = [(mine_preset, "mine_config"), (plant_preset, "plant_config")]


@pytest.mark.parametrize(("preset", "config"), PRESETS)
def test_a_preset_covers_every_sensor_of_its_site_in_registry_order(preset, config, request) -> None:
    config: HazwatchConfig = request.getfixturevalue(config)
    site = config.sites[0]
    model = preset(site)
    registry = SensorRegistry.from_config(config)
    assert model.sensors == [s.sensor for s in registry if s.site == site.id]
    values, quality = model.sample(0.0)
    assert values.dtype == np.float64 and values.shape == (len(model.sensors),)
    assert quality.dtype == np.uint8 and np.all(quality == 0)


@pytest.mark.parametrize(("preset", "config"), PRESETS)
def test_normal_operation_stays_in_range_and_never_holds_a_limit_for_its_on_delay(preset, config, request) -> None:
    """Three hours (two shearer passes) must raise no alarm: noise may touch a limit, never for its on-delay."""
    config: HazwatchConfig = request.getfixturevalue(config)
    registry = SensorRegistry.from_config(config)
    values = served(preset(config.sites[0], seed=3), THREE_HOURS)
    assert np.all(np.isfinite(values))
    assert np.all(values >= registry.range_min) and np.all(values <= registry.range_max)
    for info in registry:
        readings = values[:, info.slot]
        for high, levels in ((True, info.limits.high), (False, info.limits.low)):
            for limit in levels:
                held_s = longest_run(reaches(readings, limit.value, high))
                assert held_s <= limit.on_delay, f"{info.sensor} holds its {limit.name} limit for {held_s} s"


def test_the_mine_preset_reads_the_face_methane_of_a_working_longwall(mine_config) -> None:
    """One CH4 baseline with the scenarios: 0.2–0.6 % at the face (shared/DOMAIN.md §4), fresh air at the intake."""
    model = mine_preset(mine_config.sites[0], seed=4)
    values = served(model, THREE_HOURS)
    column = {sensor: values[:, i] for i, sensor in enumerate(model.sensors)}
    for sensor in ("LW-CH4-T0", "LW-CH4-T1", "LW-CH4-SH"):
        assert 0.2 <= column[sensor].mean() <= 0.6, sensor
        assert column[sensor].std() > 0.005, f"{sensor} must show sensor noise"
    assert column["LW-CH4-T3"].mean() < 0.1
    assert np.all(np.diff(column["MR-RUNTIME"][::60]) > 0), "the run-hour counter only climbs"


def test_the_scripted_methane_surge_crosses_alarm_and_cut_levels_within_30_s_and_falls_back(mine_config) -> None:
    model = mine_preset(mine_config.sites[0], seed=6, methane_event_at_s=5.0)
    times = np.arange(0.0, 120.0, 0.5)
    values = served(model, times)
    face = values[:, model.sensors.index("LW-CH4-T1")]
    first_alarm = times[np.argmax(face >= 1.0)]
    first_cut = times[np.argmax(face >= 1.5)]
    assert 5.0 < first_alarm < first_cut <= 35.0
    assert (face[times > 60] < 1.0).all()
    assert values[:, model.sensors.index("HD-CH4-T1")].max() < 1.0


@pytest.mark.parametrize(("preset", "config"), PRESETS)
def test_the_same_seed_gives_the_same_run_and_another_seed_a_different_one(preset, config, request) -> None:
    site = request.getfixturevalue(config).sites[0]
    times = np.arange(0.0, 100.0, 5.0)
    a, b, c = (served(preset(site, seed=s), times) for s in (42, 42, 43))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_preset_left_running_serves_one_hour_at_a_time_and_joins_the_hours_seamlessly(mine_config) -> None:
    """Days of serving keep constant memory (one hour rendered at a time); the hour boundary shows no step."""
    model = mine_preset(mine_config.sites[0], seed=8)
    boundary = 5 * SERVE_WINDOW_S
    times = np.arange(boundary - 300.0, boundary + 300.0, 1.0)
    values = served(model, times)
    assert len(model._served.time_s) <= SERVE_WINDOW_S + 1
    face = values[:, model.sensors.index("LW-CH4-T1")]
    steps = np.abs(np.diff(face))
    assert steps[299] <= 4 * np.median(steps[steps > 0]) + 0.01
