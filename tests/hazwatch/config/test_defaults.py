"""Limits a sensor gets when its config gives none follow the regulations in shared/DOMAIN.md."""

import pytest

from hazwatch.config.defaults import default_limits
from hazwatch.config.kinds import AreaKind, Location, SensorKind, SiteType


@pytest.mark.parametrize(
    ("area", "location", "alarm", "cut", "restore"),
    [
        (AreaKind.LONGWALL, Location.T1, 1.0, 1.5, 1.0),
        (AreaKind.LONGWALL, Location.T0, 1.0, 1.5, 1.0),
        (AreaKind.LONGWALL, Location.T2, 1.0, 1.0, 1.0),
        (AreaKind.LONGWALL, Location.T3, 0.5, 0.5, 0.5),
        (AreaKind.HEADING, Location.T1, 1.0, 1.5, 1.0),
        (AreaKind.HEADING, Location.T2, 1.0, 1.0, 1.0),
        (AreaKind.COAL_BUNKER, None, 1.5, 1.5, 1.5),
        (AreaKind.BELT_RETURN, None, 0.5, 0.7, 0.7),
    ],
)
def test_methane_alarm_power_cut_and_restore_follow_the_art_498_table(area, location, alarm, cut, restore) -> None:
    limits = default_limits(SiteType.COAL_MINE, area, SensorKind.CH4, location)
    first, second = limits.high
    assert (first.value, second.value, second.reset_value) == (alarm, cut, restore)
    assert second.action == "power_cut" and second.latch and second.on_delay == 0


def test_main_return_methane_has_an_alarm_point_but_no_power_cut() -> None:
    (only,) = default_limits(SiteType.COAL_MINE, AreaKind.MAIN_RETURN, SensorKind.CH4, None).high
    assert only.value == 0.70


@pytest.mark.parametrize(("kind", "first", "second"), [(SensorKind.LEL, 25, 50), (SensorKind.H2S, 7.1, 14.1)])
def test_plant_gas_detectors_get_gb_t_50493_levels(kind, first, second) -> None:
    levels = default_limits(SiteType.CHEMICAL_PLANT, AreaKind.PROCESS_UNIT, kind, None).high
    assert [(lv.level, lv.value) for lv in levels] == [(1, first), (2, second)]


def test_plant_oxygen_alarms_both_enriched_and_deficient() -> None:
    limits = default_limits(SiteType.CHEMICAL_PLANT, AreaKind.TANK_FARM, SensorKind.O2, None)
    assert [lv.value for lv in limits.high] == [23.5]
    assert [lv.value for lv in limits.low] == [19.5]


def test_working_face_temperature_limits_do_not_apply_to_a_belt_drive() -> None:
    face = default_limits(SiteType.COAL_MINE, AreaKind.LONGWALL, SensorKind.TEMPERATURE, Location.T1)
    assert [lv.value for lv in face.high] == [26.0, 30.0]
    belt = default_limits(SiteType.COAL_MINE, AreaKind.BELT_ROADWAY, SensorKind.TEMPERATURE, None)
    assert not belt.high and not belt.low


def test_gas_alarms_other_than_methane_clear_5_percent_below_their_limit() -> None:
    (co,) = default_limits(SiteType.COAL_MINE, AreaKind.LONGWALL, SensorKind.CO, Location.T0).high
    assert (co.value, co.reset_value) == (24.0, 22.8)
    first, second = default_limits(SiteType.CHEMICAL_PLANT, AreaKind.PROCESS_UNIT, SensorKind.LEL, None).high
    assert (first.reset_value, second.reset_value) == (23.75, 47.5)
