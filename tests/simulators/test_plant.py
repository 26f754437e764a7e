"""The simulated chemical plant: plausible, quiet in normal operation, physically coupled, and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import PLANT_EXAMPLE as PLANT_CONFIG
from hazwatch.config.kinds import SensorKind
from hazwatch.config.schema import Site
from simulators.plant import PlantModel

THREE_HOURS = np.arange(0.0, 3 * 3600.0, 10.0)


@pytest.fixture(scope="module")
def registry() -> SensorRegistry:
    return SensorRegistry.from_config(load_config(PLANT_CONFIG))


@pytest.fixture(scope="module")
def site() -> Site:
    return load_config(PLANT_CONFIG).sites[0]


@pytest.fixture(scope="module")
def three_hours(site: Site) -> tuple[PlantModel, np.ndarray]:
    """Values of every sensor every 10 s for three simulated hours: rows are times, columns sensors."""
    model = PlantModel(site, seed=11)
    return model, np.stack([model.sample(t)[0] for t in THREE_HOURS])


def column(model: PlantModel, values: np.ndarray, sensor: str) -> np.ndarray:
    return values[:, model.sensors.index(sensor)]


def test_the_model_covers_every_sensor_of_the_config_in_registry_order(site: Site, registry: SensorRegistry) -> None:
    model = PlantModel(site)
    assert model.sensors == [s.sensor for s in registry]
    values, quality = model.sample(0.0)
    assert values.dtype == np.float64 and values.shape == (len(registry),)
    assert quality.dtype == np.uint8 and np.all(quality == 0)


def test_normal_operation_stays_inside_every_physical_range_and_raises_no_alarm(
    registry: SensorRegistry, three_hours: tuple[PlantModel, np.ndarray]
) -> None:
    _, values = three_hours
    assert np.all(np.isfinite(values))
    assert np.all(values >= registry.range_min) and np.all(values <= registry.range_max)
    for info in registry:
        readings = values[:, info.slot]
        for limit in info.limits.high:
            assert readings.max() < limit.value, f"{info.sensor} reaches its {limit.name} limit {limit.value}"
        for limit in info.limits.low:
            assert readings.min() > limit.value, f"{info.sensor} reaches its {limit.name} limit {limit.value}"


def test_gas_detectors_read_clean_air(registry: SensorRegistry, three_hours: tuple[PlantModel, np.ndarray]) -> None:
    _, values = three_hours
    for info in registry:
        readings = values[:, info.slot]
        if info.kind == SensorKind.LEL:
            assert readings.min() >= 0.0 and readings.max() <= 3.0 and 0.3 < readings.mean() < 2.0
        elif info.kind == SensorKind.O2:
            assert abs(readings.mean() - 20.9) < 0.05 and readings.std() < 0.1
        elif info.kind in (SensorKind.H2S, SensorKind.NH3, SensorKind.CO):
            assert readings.min() >= 0.0 and readings.mean() < 3.0
            assert readings.std() > 0, f"{info.sensor} must show sensor noise, not a stuck value"


def test_reactor_pressure_follows_its_temperature_and_the_three_thermocouples_agree(
    three_hours: tuple[PlantModel, np.ndarray],
) -> None:
    model, values = three_hours
    temperature = column(model, values, "R101-TT-A")
    pressure = column(model, values, "R101-PT")
    assert np.corrcoef(temperature, pressure)[0, 1] > 0.9
    assert temperature.max() - temperature.min() > 1.0, "the reactor must breathe, not sit still"
    voters = np.stack([column(model, values, f"R101-TT-{x}") for x in "ABC"])
    assert np.abs(voters - voters.mean(axis=0)).max() < 1.0
    assert np.corrcoef(column(model, values, "R102-TT"), column(model, values, "R102-PT"))[0, 1] > 0.9


def test_reactor_temperature_changes_slower_than_a_rate_of_rise_alarm(site: Site) -> None:
    """Normal |dT/dt| < 0.1 °C/min (DOMAIN.md): the swing itself must not look like a runaway."""
    model = PlantModel(site, seed=5)
    minutes = np.arange(0.0, 4 * 60.0)
    deviation = np.stack([model.reactor_deviation(m * 60.0) for m in minutes])
    assert np.abs(np.diff(deviation, axis=0)).max() < 0.1


def test_the_same_seed_gives_the_same_plant_and_another_seed_a_different_one(site: Site) -> None:
    def run(seed: int) -> np.ndarray:
        model = PlantModel(site, seed=seed)
        return np.stack([model.sample(t)[0] for t in (0.0, 10.0, 20.0)])

    assert np.array_equal(run(42), run(42))
    assert not np.array_equal(run(42), run(43))
