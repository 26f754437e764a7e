"""The registry gives every sensor one slot and the limits it will be judged by."""


from hazwatch.config import SensorRegistry, load_configs
from hazwatch.config.examples import EXAMPLES


def test_both_examples_together_give_unique_slots_in_order() -> None:
    config = load_configs([EXAMPLES / "coal-mine.yaml", EXAMPLES / "chemical-plant.yaml"])
    registry = SensorRegistry.from_config(config)
    assert [s.slot for s in registry] == list(range(len(registry)))
    assert len({s.key for s in registry}) == len(registry) >= 70


def test_site_limits_override_the_defaults_and_defaults_fill_the_rest() -> None:
    registry = SensorRegistry.from_config(load_configs([EXAMPLES / "chemical-plant.yaml"]))
    reactor = registry.sensors[registry.slot("hengda-chem", "R101-TT-A")]
    assert [lv.value for lv in reactor.limits.high] == [85.0, 95.0]
    lel = registry.sensors[registry.slot("hengda-chem", "R101-LEL")]
    assert [lv.value for lv in lel.limits.high] == [25.0, 50.0]


def test_every_sensor_knows_the_device_that_reads_it_and_how_often() -> None:
    config = load_configs([EXAMPLES / "coal-mine.yaml", EXAMPLES / "chemical-plant.yaml"])
    registry = SensorRegistry.from_config(config)
    assert all(s.device is not None for s in registry)
    assert (registry.poll_interval > 0).all()
