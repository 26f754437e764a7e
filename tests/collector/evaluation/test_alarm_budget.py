"""The budgeted rules stay within the alarm budget on data that should be quiet."""

from __future__ import annotations

import pytest

from collector.evaluation import budget, skab
from collector.evaluation.scenarios.runner import evaluate_scenarios
from hazwatch.events import AlarmEvent, AlarmState, Transition
from simulators.scenarios.loader import library_paths

SKAB_FREE = skab.skab_dir() / "anomaly-free" / "anomaly-free.csv"


@pytest.mark.skipif(not SKAB_FREE.is_file(), reason=f"SKAB data not at {SKAB_FREE}")
def test_skabs_anomaly_free_run_spends_no_more_than_the_budget():
    spent = budget.skab_normal()["spend"]["all"]
    print(f"SKAB anomaly-free: {spent['alarms']} alarms over {spent['sensor_days']:.2f} sensor-days "
          f"= {spent['per_sensor_day']:.3f}/sensor-day (budget {budget.budget_per_day()})")
    assert spent["sensor_days"] > 0.9
    assert spent["per_sensor_day"] <= budget.budget_per_day()


def test_scenarios_quiet_sensors_spend_no_more_than_the_budget():
    """Four scenarios of the library, to stay fast; `hazwatch evaluate` prints the figure for all of them."""
    totals = budget.scenario_totals(evaluate_scenarios(library_paths()[:4], repeat=False))["all"]
    print(f"scenarios, sensors with no reason to alarm: {totals['alarms']} alarms over "
          f"{totals['sensor_days']:.2f} sensor-days = {totals['per_sensor_day']:.3f}/sensor-day")
    assert totals["sensor_days"] > 0
    assert totals["per_sensor_day"] <= budget.budget_per_day()


def _raise(slot: int, rule: str, time_ns: int) -> AlarmEvent:
    return AlarmEvent(
        event_id=f"{slot}-{time_ns}", slot=slot, rule=rule, category="process", transition=Transition.RAISE,
        state=AlarmState.UNACKNOWLEDGED, level=1, level_name="rising", priority="low", value=1.0, limit=1.0,
        time_ns=time_ns, message="",
    )


def test_an_area_over_its_budget_is_named_even_when_the_site_as_a_whole_is_within_it(mine_registry):
    sensors = list(mine_registry)
    areas = {info.area for info in sensors}
    assert len(areas) > 2
    noisy = sensors[0]
    day = budget.DAY_NS
    in_area = sum(info.area == noisy.area for info in sensors)
    n = int(budget.budget_per_day() * in_area) + 1
    assert n < len(sensors)
    # One trend alarm more in a day than its area's budget: over it there, not for the whole mine.
    events = [_raise(noisy.slot, "trend.rate_of_rise", k * day // (n + 1)) for k in range(1, n + 1)]
    events.append(_raise(noisy.slot, "threshold.high", day // 2))  # a limit alarm is not charged to the budget
    slots = [info.slot for info in sensors]
    overall = budget.spend(events, slots, 0, day)["all"]
    per_area = budget.spend_by_area(events, mine_registry, slots, 0, day)
    assert overall["per_sensor_day"] <= budget.budget_per_day() and overall["alarms"] == n
    noisy_area = f"{noisy.site}/{noisy.area}"
    assert per_area[noisy_area]["alarms"] == n
    assert sum(figures["alarms"] for figures in per_area.values()) == n
    assert budget.over_budget(per_area, budget.budget_per_day()) == [noisy_area]
    assert budget.over_budget(per_area, 100.0) == []
