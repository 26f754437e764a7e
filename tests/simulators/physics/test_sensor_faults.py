"""Instrument and fault models: what a monitoring system really receives."""

import numpy as np

from hazwatch.quality import Quality
from simulators.physics.events import Calibration, CommsLoss, Drift, SensitivityLoss, Spikes, Stuck
from simulators.physics.site import SimulatedSite


def test_calibration_is_a_flagged_two_percent_plateau(mine_config):
    site = SimulatedSite(mine_config, [Calibration(type="calibration", sensor="LW-CH4-T1", at=100)], step_s=1)
    r = site.render(600)
    i = r.column("LW-CH4-T1")
    flagged = r.readings.quality[:, i] == Quality.CALIBRATION
    assert flagged.any() and np.all(r.readings.pseudo[:, i] == flagged)
    plateau = r.readings.values[(r.time_s > 160) & (r.time_s < 225), i]
    assert np.all(np.abs(plateau - 2.0) < 0.1)
    assert np.all(r.readings.values[~flagged, i] < 1.0), "no unflagged reading carries test gas"
    assert 60 <= (r.time_s[flagged][-1] - r.time_s[flagged][0]) - 60 <= 240


def test_tampered_sensor_reads_exactly_zero(mine_config):
    r = SimulatedSite(mine_config, [Stuck(type="stuck", sensor="LW-CH4-T2B", at=50, value=0.0)]).render(300)
    column = r.readings.values[:, r.column("LW-CH4-T2B")]
    assert np.all(column[r.time_s >= 50] == 0.0) and np.all(column[r.time_s < 50] > 0.2)


def test_spikes_are_one_or_two_readings_near_full_scale(mine_config):
    spikes = Spikes(type="spikes", sensor="BT-CH4", at=0, duration_s=3600, per_hour=30)
    r = SimulatedSite(mine_config, [spikes], seed=4, step_s=2).render(3600)
    high = r.readings.values[:, r.column("BT-CH4")] > 3.5
    starts = np.flatnonzero(high & ~np.roll(high, 1))
    ends = np.flatnonzero(high & ~np.roll(high, -1))
    assert 20 <= len(starts) <= 30
    assert set(ends - starts + 1) <= {1, 2}
    assert np.array_equal(high, r.readings.pseudo[:, r.column("BT-CH4")])


def test_drift_and_sensitivity_loss_change_readings_but_look_real(mine_config):
    events = [
        Drift(type="drift", sensor="RT-CH4", at=0, per_hour=0.2),
        SensitivityLoss(type="sensitivity_loss", sensor="LW-CH4-T1", at=0, to=0.3, over_s=600),
    ]
    r = SimulatedSite(mine_config, events, step_s=5).render(7200)
    drift = r.readings.values[:, r.column("RT-CH4")] - r.truth[:, r.column("RT-CH4")]
    assert abs(np.polyfit(r.time_s, drift, 1)[0] * 3600 - 0.2) < 0.02
    assert not r.readings.pseudo.any()


def test_comms_loss_delivers_nothing_then_back_fills_with_original_timestamps(mine_config):
    loss = CommsLoss(type="comms_loss", device="ss-rt12", at=100, duration_s=60)
    site = SimulatedSite(mine_config, [loss], step_s=2)
    r = site.render(300)
    rows, cols = r.delivered_order()
    arrival = r.readings.arrival_s[rows, cols]
    assert np.all(np.diff(arrival) >= 0), "delivered in arrival order"
    rt = r.column("RT-CH4")
    late = (cols == rt) & (r.time_s[rows] >= 100) & (r.time_s[rows] < 160)
    assert late.sum() == 30 and np.all(arrival[late] == 160)
    values, quality = site.sample(120.0)
    assert quality[rt] == Quality.OFFLINE and np.isnan(values[rt])
    assert quality[r.column("LW-CH4-T1")] == Quality.GOOD


def test_site_model_samples_the_rendered_readings(mine_config):
    site = SimulatedSite(mine_config, seed=9, step_s=1)
    values, quality = site.sample(42.0)
    rendered = site.render(100)
    assert site.sensors[0] == "LW-CH4-T0" and len(values) == len(site.sensors)
    assert np.array_equal(values, rendered.readings.values[42])
    assert values.dtype == np.float64 and quality.dtype == np.uint8
