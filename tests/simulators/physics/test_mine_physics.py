"""The mine model behaves like the ventilation engineer's paper model (shared/DOMAIN.md §4)."""

import numpy as np

from simulators.physics.events import BeltFire, CuttingSurge, FanStop, Outburst
from simulators.physics.mine import MineParameters
from simulators.physics.site import SimulatedSite


def first_time(rendering, sensor, threshold, truth=True):
    column = (rendering.truth if truth else rendering.readings.values)[:, rendering.column(sensor)]
    hits = np.flatnonzero(column >= threshold)
    return rendering.time_s[hits[0]] if len(hits) else None


def test_same_seed_gives_the_same_readings_and_another_seed_other_noise(mine_config):
    events = [CuttingSurge(type="cutting_surge", at=100)]
    a = SimulatedSite(mine_config, events, seed=5, step_s=2).render(1200)
    b = SimulatedSite(mine_config, events, seed=5, step_s=2).render(1200)
    c = SimulatedSite(mine_config, events, seed=6, step_s=2).render(1200)
    assert np.array_equal(a.readings.values, b.readings.values)
    assert not np.array_equal(a.readings.values, c.readings.values)
    assert np.array_equal(a.truth, c.truth)


def test_renders_a_day_far_faster_than_real_time(mine_config):
    import time

    started = time.perf_counter()
    rendering = SimulatedSite(mine_config, step_s=1).render(86_400)
    assert rendering.readings.values.shape == (86_401, 48)
    assert time.perf_counter() - started < 10.0


def test_quiet_shift_keeps_face_methane_in_the_baseline_band_below_every_limit(mine_config):
    rendering = SimulatedSite(mine_config, seed=1, step_s=2).render(3 * 5400)
    face = rendering.readings.values[:, rendering.column("LW-CH4-T1")]
    assert 0.2 <= np.median(face) <= 0.6
    assert face.max() < 1.0
    cutting = rendering.truth[:, rendering.column("LW-CH4-T1")]
    assert cutting.max() / cutting.min() >= 1.3


def test_return_airway_sensor_lags_the_face_by_distance_over_air_speed(mine_config):
    p = MineParameters()
    rendering = SimulatedSite(mine_config, [CuttingSurge(type="cutting_surge", at=300)], step_s=1).render(2400)
    face = first_time(rendering, "LW-CH4-T1", 1.0)
    ret = first_time(rendering, "LW-CH4-T2", 1.0)
    second_head = first_time(rendering, "LW-CH4-T2B", 1.0)
    expected_lag = p.return_distance_m / (p.face_airflow / p.return_section_m2 / 60.0)
    assert abs((ret - face) - expected_lag) <= 0.1 * expected_lag
    assert second_head > ret


def test_fan_stop_accumulates_at_emission_over_volume_and_decays_after_restart(mine_config):
    p = MineParameters()
    stop = FanStop(type="fan_stop", at=600, duration_s=2400)
    rendering = SimulatedSite(mine_config, [stop], step_s=2).render(6000)
    t = rendering.time_s
    heading = rendering.truth[:, rendering.column("HD-CH4-T2")] / 0.95
    c = np.interp(t + p.heading_return_lag_s, t, heading)
    rising = (t > 1200) & (t < 2800)
    slope_per_min = np.polyfit(t[rising], c[rising], 1)[0] * 60
    assert abs(slope_per_min - p.heading_emission / p.heading_volume_m3 * 100) < 0.004
    peak = np.interp(3000, t, c)
    baseline = p.heading_emission / (p.heading_fan + p.heading_leak) * 100
    tau = p.heading_volume_m3 / (p.heading_fan + p.heading_leak)
    after_tau = np.interp(3000 + tau * 60, t, c)
    assert abs((after_tau - baseline) / (peak - baseline) - np.exp(-1)) < 0.05
    velocity = rendering.truth[:, rendering.column("HD-AV")]
    assert velocity[t < 600].min() > 0.25 > velocity[(t > 600) & (t < 3000)].max()
    feed = rendering.truth[:, rendering.column("HD-FEED")]
    assert feed[(t > 610) & (t < 3000)].max() == 0.0, "fan-power lockout cuts the heading"


def test_outburst_saturates_the_face_and_reaches_return_sensors_in_order_of_distance(mine_config):
    rendering = SimulatedSite(mine_config, [Outburst(type="outburst", at=300)], step_s=1).render(2400)
    face_full = first_time(rendering, "LW-CH4-T1", 4.0, truth=False)
    assert face_full is not None and face_full - 300 <= 60
    arrivals = [first_time(rendering, s, 1.0) for s in ("LW-CH4-T2", "RT-CH4", "MR-CH4")]
    assert all(a is not None for a in arrivals)
    assert arrivals == sorted(arrivals) and arrivals[0] > 300
    velocity = rendering.truth[:, rendering.column("LW-AV-FACE")]
    assert velocity[(rendering.time_s > 300) & (rendering.time_s < 400)].min() < 0.25
    feed = rendering.truth[:, rendering.column("LW-FEED")]
    gassy = (rendering.time_s > 310) & (rendering.truth[:, rendering.column("LW-CH4-T1")] >= 1.0)
    assert gassy.sum() > 60 and feed[gassy].max() == 0.0, "the power cut holds while gas is over restore"
    assert feed[-1] == 1.0, "power is restored once every face head is back below 1.0 %"


def test_belt_fire_raises_co_within_minutes_then_smoke(mine_config):
    rendering = SimulatedSite(mine_config, [BeltFire(type="belt_fire", at=120)], step_s=2).render(1200)
    co_alarm = first_time(rendering, "BT-CO-HEAD", 24.0)
    smoke = first_time(rendering, "BT-SMOKE", 0.5)
    tail = first_time(rendering, "BT-CO-TAIL", 24.0)
    assert co_alarm - 120 < 180
    assert co_alarm < smoke < co_alarm + 180
    assert tail > co_alarm
