"""The budgeted rules stay within the alarm budget on data that should be quiet."""

from __future__ import annotations

import pytest

from collector.evaluation import budget, skab
from collector.evaluation.scenarios.runner import evaluate_scenarios
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
