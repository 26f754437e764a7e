"""The scenario library: every incident the issue names, each passing its ground truth, deterministically."""

import pytest

from collector.evaluation.scenarios.runner import evaluate_scenarios, run_scenario
from simulators.physics.events import Stuck
from simulators.scenarios.loader import (
    ScenarioError,
    library_paths,
    load_scenario,
    load_scenario_config,
    render_scenario,
    scenario_config,
)
from simulators.scenarios.model import Expectation

REQUIRED = {
    "face-methane-surge": "cutting_surge",
    "ventilation-failure": "fan_stop",
    "outburst": "outburst",
    "spontaneous-combustion": "spontaneous_combustion",
    "belt-fire": "belt_fire",
    "tampering": "stuck",
    "calibration-session": "calibration",
    "drive-interference": "spikes",
    "slow-drift": "drift",
    "reactor-cooling-loss": "cooling_loss",
    "tank-overpressure": "tank_heating",
    "toxic-gas-leak": "leak",
    "comms-loss-backfill": "comms_loss",
}


def test_the_library_covers_every_required_incident():
    scenarios = {p.stem: load_scenario(p) for p in library_paths()}
    assert set(REQUIRED) <= set(scenarios)
    for name, event_type in REQUIRED.items():
        assert scenarios[name].name == name
        assert event_type in {e.type for e in scenarios[name].events}
        assert scenarios[name].expect, f"{name} states the alarms it must raise"


@pytest.mark.parametrize("path", library_paths(), ids=lambda p: p.stem)
def test_scenario_passes_its_ground_truth_and_is_deterministic(path):
    (result,) = evaluate_scenarios([path], repeat=True)
    assert result["deterministic"], "same seed, same alarms"
    assert result["missed"] == [], result["missed"]
    assert result["false_alarms"] == [], result["false_alarms"]
    assert result["passed"]
    regulatory = result["regulatory"]
    assert regulatory["detected"] == regulatory["episodes"]
    assert regulatory["max_delay_s"] <= 2.0


def test_slow_rises_get_time_to_limit_warnings_ahead_of_the_crossing():
    for name in ("ventilation-failure", "spontaneous-combustion", "tank-overpressure", "reactor-cooling-loss"):
        (result,) = evaluate_scenarios([p for p in library_paths() if p.stem == name], repeat=False)
        forecasts = [e for e in result["expected"] if e["rule"] == "trend.forecast"]
        assert forecasts and all(e["passed"] and e["delay_s"] < 0 for e in forecasts), name


def test_an_alarm_the_detectors_never_raise_is_reported_missed():
    scenario = load_scenario("calibration-session")
    impossible = scenario.model_copy(
        update={"expect": [Expectation(sensor="LW-CH4-T1", rule="threshold.high", level=2)]}
    )
    result = run_scenario(load_scenario_config(scenario), impossible)
    assert not result["passed"]
    assert result["missed"][0]["why"] == "the readings never cross 1.5"


def test_a_process_alarm_on_a_silent_sensor_is_a_false_alarm():
    scenario = load_scenario("face-methane-surge")
    strict = scenario.model_copy(update={"may_alarm": [], "must_not_alarm": ["LW-CH4-T1"]})
    result = run_scenario(load_scenario_config(scenario), strict)
    assert not result["passed"]
    assert {f["sensor"] for f in result["false_alarms"]} >= {"LW-CH4-T1"}


def test_a_stuck_sensor_hides_an_over_limit_from_the_readings_but_not_from_its_neighbour():
    scenario = load_scenario("tampering")
    config = load_scenario_config(scenario)
    rendering = render_scenario(config, scenario)
    t2, t2b = rendering.column("LW-CH4-T2"), rendering.column("LW-CH4-T2B")
    assert rendering.readings.values[:, t2].max() >= 1.0
    assert rendering.readings.values[rendering.time_s >= 200, t2b].max() == 0.0
    assert rendering.truth[:, t2b].max() >= 1.0
    assert any(isinstance(e, Stuck) for e in scenario.events)


def test_scenario_detect_settings_switch_on_rules_for_named_sensors_only():
    scenario = load_scenario("slow-drift")
    config = scenario_config(load_scenario_config(scenario), scenario)
    sensors = {s.id: s for site in config.sites for area in site.areas for s in area.sensors}
    assert sensors["RT-CH4"].detect.drift is not None
    assert sensors["MR-CH4"].detect.drift is None
    bad = scenario.model_copy(update={"detect": {"NOPE": sensors["RT-CH4"].detect}})
    with pytest.raises(ScenarioError, match="NOPE"):
        scenario_config(load_scenario_config(scenario), bad)


def test_a_scenario_naming_a_sensor_the_site_lacks_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\ntitle: bad\nsite: mine\nconfig: examples/coal-mine.yaml\nduration_s: 60\n"
        "events:\n- {at: 1, type: stuck, sensor: NO-SUCH}\n"
    )
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError, match="NO-SUCH"):
        render_scenario(load_scenario_config(scenario, path), scenario)
    path.write_text("name: Bad Name\n")
    with pytest.raises(ScenarioError, match="name"):
        load_scenario(path)
