"""The registry keeps columns, not an object per sensor, and still answers every question about one sensor."""

import gc
import tracemalloc

import pytest

from hazwatch.config import SensorRegistry, load_configs
from hazwatch.config.defaults import default_limits
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.kinds import DEFAULT_UNIT
from hazwatch.config.schema import ModbusDevice


@pytest.fixture(scope="module")
def both_examples():
    return load_configs([EXAMPLES / "coal-mine.yaml", EXAMPLES / "chemical-plant.yaml"])


def test_every_sensor_reads_back_exactly_as_the_config_describes_it(both_examples) -> None:
    registry = SensorRegistry.from_config(both_examples)
    seen = 0
    for site in both_examples.sites:
        for area in site.areas:
            for sensor in area.sensors:
                info = registry.sensors[registry.slot(site.id, sensor.id)]
                assert (info.site, info.site_type) == (site.id, site.type)
                assert (info.area, info.area_kind) == (area.id, area.kind)
                assert (info.sensor, info.name, info.kind) == (sensor.id, sensor.name or sensor.id, sensor.kind)
                assert info.unit == (sensor.unit or DEFAULT_UNIT[sensor.kind])
                assert info.location == sensor.location
                assert info.detect is sensor.detect
                expected = sensor.limits or default_limits(site.type, area.kind, sensor.kind, sensor.location)
                assert info.limits == expected
                seen += 1
    assert seen == len(registry) >= 70


def test_a_sensor_knows_its_device_and_that_device_s_poll_interval(both_examples) -> None:
    registry = SensorRegistry.from_config(both_examples)
    for site in both_examples.sites:
        for device in site.devices:
            if not isinstance(device, ModbusDevice):
                continue
            for register in device.registers:
                info = registry.sensors[registry.slot(site.id, register.sensor)]
                assert (info.device, info.poll_interval) == (device.id, device.poll_interval)
                assert registry.poll_interval[info.slot] == device.poll_interval


def test_site_lookups_agree_with_slot_lookups_and_unknown_names_find_nothing(both_examples) -> None:
    registry = SensorRegistry.from_config(both_examples)
    for site in both_examples.sites:
        slots = registry.slots_of_site(site.id)
        assert slots == {s.sensor: s.slot for s in registry if s.site == site.id}
        assert all(registry.slot(site.id, sensor) == slot for sensor, slot in slots.items())
    assert registry.slot("no-such-site", "CH4") is None
    assert registry.slot(both_examples.sites[0].id, "no-such-sensor") is None
    assert registry.slots_of_site("no-such-site") == {}


def test_sensors_index_like_a_list(both_examples) -> None:
    """`sensors` holds every slot, the groups' after the sensors'; iterating the registry gives the sensors."""
    registry = SensorRegistry.from_config(both_examples)
    n = len(registry) + len(registry.units)
    assert registry.units and len(registry.sensors) == n
    assert registry.sensors[-1] == registry.sensors[n - 1] == registry.units[-1]
    assert [s.slot for s in registry.sensors[2:5]] == [2, 3, 4]
    columns = list(zip(registry.range_min, registry.range_max, strict=True))
    assert [(s.range_min, s.range_max) for s in registry] == columns
    assert [s.slot for s in registry.sensors] == list(range(n))
    with pytest.raises(IndexError):
        registry.sensors[n]


def test_poll_intervals_given_for_replay_change_only_sensors_no_device_reads() -> None:
    config = load_configs([EXAMPLES / "coal-mine.yaml"])
    site = config.sites[0]
    no_devices = config.model_copy(update={"sites": [site.model_copy(update={"devices": []})]})
    with_devices = SensorRegistry.from_config(config)
    without = SensorRegistry.from_config(no_devices)
    changed = without.with_poll_intervals({0: 1.5, 3: 7.0})
    assert (changed.sensors[0].poll_interval, changed.sensors[3].poll_interval) == (1.5, 7.0)
    assert changed.sensors[1].poll_interval == without.sensors[1].poll_interval
    assert without.sensors[0].poll_interval != 1.5, "the original registry is left as it was"
    kept = with_devices.with_poll_intervals({0: 1.5})
    assert kept.sensors[0].poll_interval == with_devices.sensors[0].poll_interval


def test_a_province_sized_registry_costs_columns_not_an_object_per_sensor() -> None:
    """One SensorInfo per sensor cost ~265 B of Python objects each; the columns ~112 B (tracemalloc counts
    exactly, whatever the machine's load)."""
    base = load_configs([EXAMPLES / "coal-mine.yaml"])
    site = base.sites[0]
    config = base.model_copy(update={"sites": [site.model_copy(update={"id": f"mine-{i:04d}"}) for i in range(400)]})
    gc.collect()
    tracemalloc.start()
    try:
        registry = SensorRegistry.from_config(config)
        gc.collect()
        per_sensor = tracemalloc.get_traced_memory()[0] / len(registry)
    finally:
        tracemalloc.stop()
    assert len(registry) == 400 * len(list(SensorRegistry.from_config(base)))
    assert per_sensor < 180, f"{per_sensor:.0f} B per sensor"
