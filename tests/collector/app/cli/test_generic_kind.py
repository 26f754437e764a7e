"""A `generic` sensor: accepted without a range, no physical assumptions, watched by the learned-normal rule."""

import json
import math

from typer.testing import CliRunner

from collector.app.cli import app
from detectors.engine.setup import Setup
from detectors.rules.health import health_params
from detectors.rules.learned import learned_params_of
from detectors.rules.trend import trend_params
from hazwatch.config import SensorRegistry, load_config

CONFIG = """
sites:
- id: bench
  type: chemical_plant
  areas:
  - id: line
    kind: process_unit
    sensors:
    - {id: orders_per_min, kind: generic}
    - {id: FT-101, kind: flow, range: [0, 50]}
"""


def test_a_generic_sensor_needs_no_range_and_gets_no_rule_that_assumes_physics(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text(CONFIG)
    assert CliRunner().invoke(app, ["check", str(path)]).exit_code == 0
    config = load_config(path)
    registry = SensorRegistry.from_config(config)
    generic, flow = registry.sensors
    assert (generic.range_min, generic.range_max) == (-math.inf, math.inf)
    setup = Setup(registry, config)
    health = health_params(setup)
    assert math.isnan(health.spike_jump[generic.slot]) and math.isnan(health.stuck_after_s[generic.slot])
    assert health.spike_jump[flow.slot] == 25.0, "a flow keeps its range-derived spike jump"
    assert math.isnan(trend_params(setup).rate_limit_per_min[generic.slot])
    learned = learned_params_of(setup).budget_per_day
    assert learned[generic.slot] > 0 and math.isnan(learned[flow.slot]), "learned normal on generic only"

    out = tmp_path / "dash"
    assert CliRunner().invoke(app, ["dashboards", "build", str(path), "--out", str(out)]).exit_code == 0
    for board in out.rglob("*.json"):
        json.loads(board.read_text(), parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
