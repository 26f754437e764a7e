"""The first mine model: plausible levels, a shearer cycle that raises face methane, a scripted gas event."""

from __future__ import annotations

import numpy as np
import pytest

from hazwatch.config import load_config
from hazwatch.config.examples import MINE_EXAMPLE as EXAMPLE
from simulators.mine import RETURN_LAG_S, SHEARER_PERIOD_S, MineModel


@pytest.fixture(scope="module")
def site():
    return load_config(EXAMPLE).sites[0]


def run(model: MineModel, times: np.ndarray) -> dict[str, np.ndarray]:
    series = np.array([model.sample(float(t))[0] for t in times])
    return {sensor: series[:, i] for i, sensor in enumerate(model.sensors)}


def test_the_same_seed_gives_the_same_run_and_another_seed_a_different_one(site):
    times = np.arange(0, 100, 5.0)
    a, b, c = (run(MineModel(site, seed=s), times) for s in (1, 1, 2))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["LW-CH4-T1"], c["LW-CH4-T1"])


def test_levels_are_those_of_a_working_mine_between_cutting_passes(site):
    quiet = np.arange(0.7 * SHEARER_PERIOD_S, SHEARER_PERIOD_S, 10.0)  # after the cut, before the next
    series = run(MineModel(site, seed=4), quiet)
    for sensor in ("LW-CH4-T0", "LW-CH4-T1", "LW-CH4-SH", "HD-CH4-T1", "RT-CH4"):
        assert 0.2 <= series[sensor].mean() <= 0.6, sensor
        assert 0.005 <= series[sensor].std() <= 0.03, sensor
    assert series["LW-O2-T1"].mean() == pytest.approx(20.8, abs=0.1)
    assert 0 <= series["LW-CO-T0"].mean() <= 6
    for sensor in ("LW-AV-FACE", "HD-AV", "RT-AV"):
        assert 1.5 <= series[sensor].mean() <= 3.0, sensor
    assert (series["HD-FAN"] == 1).all() and (series["LW-FEED"] == 1).all() and (series["BT-SMOKE"] == 0).all()
    assert np.all(np.diff(series["MR-RUNTIME"]) > 0)  # run-hour counter only climbs


def test_cutting_raises_face_methane_most_at_the_shearer_and_reaches_the_return_later(site):
    times = np.arange(0, SHEARER_PERIOD_S, 10.0)
    series = run(MineModel(site, seed=5), times)
    peak = times < 0.6 * SHEARER_PERIOD_S
    rise = {s: series[s][peak].max() - series[s][~peak].mean() for s in ("LW-CH4-SH", "LW-CH4-T0", "LW-CH4-T1")}
    assert rise["LW-CH4-SH"] > rise["LW-CH4-T0"] > rise["LW-CH4-T1"] > 0.1
    face_peak = times[np.argmax(np.convolve(series["LW-CH4-T0"], np.ones(9) / 9, "same"))]
    return_peak = times[np.argmax(np.convolve(series["LW-CH4-T2"], np.ones(9) / 9, "same"))]
    assert return_peak - face_peak == pytest.approx(RETURN_LAG_S, abs=120)


def test_the_scripted_methane_event_crosses_alarm_and_cut_levels_within_30_s_and_falls_back(site):
    model = MineModel(site, seed=6, methane_event_at_s=5.0)
    times = np.arange(0, 120, 0.5)
    face = run(model, times)["LW-CH4-T1"]
    first_alarm = times[np.argmax(face >= 1.0)]
    first_cut = times[np.argmax(face >= 1.5)]
    assert 5.0 < first_alarm < first_cut <= 35.0
    assert (face[times > 60] < 1.0).all()
    others = run(MineModel(site, seed=6, methane_event_at_s=5.0), times)
    assert others["HD-CH4-T1"].max() < 1.0
