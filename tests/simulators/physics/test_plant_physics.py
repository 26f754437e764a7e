"""The plant model: runaway on cooling loss, vapour-pressure tanks, meandering leak plumes (DOMAIN.md §4)."""

import numpy as np

from simulators.physics.events import CoolingLoss, Leak, TankHeating
from simulators.physics.plant import vapour_pressure_kpa
from simulators.physics.site import SimulatedSite


def test_cooling_loss_runs_away_with_a_growing_rate_and_pressure_up_to_relief(plant_config):
    rendering = SimulatedSite(plant_config, [CoolingLoss(type="cooling_loss", area="r101", at=300)], step_s=2).render(
        2700
    )
    t = rendering.time_s
    temperature = rendering.truth[:, rendering.column("R101-TT-A")]
    rate = np.gradient(temperature, t) * 60
    assert abs(rate[t < 290]).max() < 0.1, "normal operation: |dT/dt| < 0.1 °C/min"
    assert 0.3 < rate[(t > 310) & (t < 400)].mean() < 0.8
    rising = (t > 320) & (temperature < 150)
    minutes = rate[rising][::30]
    assert np.all(np.diff(minutes) > 0), "dT/dt grows as the reaction speeds up"
    assert rate.max() > 10
    pressure = rendering.truth[:, rendering.column("R101-PT")]
    assert pressure[t < 300].max() < 450 < pressure.max() <= 1.15 * 550 + 1e-9
    other = rendering.truth[:, rendering.column("R102-TT")]
    assert np.ptp(other) < 0.5, "the other reactor is untouched"


def test_tank_pressure_follows_the_liquids_vapour_pressure(plant_config):
    heat = TankHeating(type="tank_heating", tank="T201", at=0, rate_c_per_min=0.5, to_c=40)
    rendering = SimulatedSite(plant_config, [heat], step_s=10).render(3600)
    temperature = rendering.truth[:, rendering.column("T201-TT")]
    pressure = rendering.truth[:, rendering.column("T201-PT")]
    expected = 5.0 + vapour_pressure_kpa("methanol", temperature) - vapour_pressure_kpa("methanol", 25.0)
    assert np.allclose(pressure, expected)
    assert abs(vapour_pressure_kpa("methanol", 64.7) - 101.3) < 2.0, "methanol boils at 64.7 °C at 1 atm"
    assert temperature.max() == 40


def test_leak_plume_is_intermittent_and_the_neighbour_follows_with_the_wind_lag(plant_config):
    leak = Leak(type="leak", at=0, sensors=["LD-NH3-1", "LD-NH3-2"], mean=40, wind_lag_s=20, ramp_s=0)
    rendering = SimulatedSite(plant_config, [leak], seed=3, step_s=1).render(3600)
    near = rendering.truth[:, rendering.column("LD-NH3-1")] - 2.0
    far = rendering.truth[:, rendering.column("LD-NH3-2")] - 2.0
    assert 0.2 < np.mean(near < 1.0) < 0.6, "the plume is absent part of the time"
    assert 25 < near.mean() < 55 and 10 < far.mean() < 30
    lags = np.arange(0, 60)
    corr = [np.corrcoef(near[: len(near) - lag], far[lag:])[0, 1] for lag in lags]
    assert abs(lags[int(np.argmax(corr))] - 20) <= 3
