"""Run scenarios through the detector stack and check them: what `hazwatch evaluate` reports per scenario."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from collector.evaluation import budget
from collector.evaluation.replay.runner import ReplayRunner
from collector.evaluation.replay.stack import build_stack
from collector.evaluation.scenarios.checker import check
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig
from hazwatch.events import AlarmEvent
from simulators.physics.site import Rendering
from simulators.scenarios.loader import (
    library_paths,
    load_scenario,
    load_scenario_config,
    render_scenario,
    scenario_config,
)
from simulators.scenarios.model import Scenario


def rendering_batch(rendering: Rendering, registry: SensorRegistry) -> ReadingBatch:
    """Every delivered reading in arrival order, as one batch keyed by the registry's slots."""
    slot_of = np.array([registry.slot(rendering.site, s) for s in rendering.sensors], dtype=np.int32)
    rows, cols = rendering.delivered_order()
    r = rendering.readings
    return ReadingBatch.from_columns(
        slot_of[cols], rendering.time_ns[rows], r.values[rows, cols], r.quality[rows, cols]
    )


def replay_rendering(rendering: Rendering, config: HazwatchConfig, registry: SensorRegistry) -> list[AlarmEvent]:
    runner = ReplayRunner(build_stack(config, registry), batch_s=rendering.step_s, tick_s=1.0)
    return runner.run([rendering_batch(rendering, registry)]).events


def fingerprint(events: list[AlarmEvent]) -> str:
    """Same alarms (ids carry slot, rule, transition, time and sequence) → same fingerprint."""
    return hashlib.sha256("\n".join(e.event_id for e in events).encode()).hexdigest()[:16]


def run_scenario(config: HazwatchConfig, scenario: Scenario, repeat: bool = False) -> dict[str, object]:
    """Render, replay through the detectors and check; `repeat` runs it twice to prove determinism."""
    started = time.perf_counter()
    config = scenario_config(config, scenario)
    registry = SensorRegistry.from_config(config)
    rendering = render_scenario(config, scenario)
    events = replay_rendering(rendering, config, registry)
    result = check(scenario, rendering, events, registry)
    allowed = {e.sensor for e in scenario.expect} | set(scenario.may_alarm)
    quiet = [info.slot for info in registry if info.sensor not in allowed]
    result["budget"] = budget.spend(events, quiet, int(rendering.time_ns[0]), int(rendering.time_ns[-1]))
    result["budget_by_area"] = budget.spend_by_area(
        events, registry, quiet, int(rendering.time_ns[0]), int(rendering.time_ns[-1])
    )
    result["events"] = len(events)
    result["readings"] = int((~np.isnan(rendering.readings.arrival_s)).sum())
    result["fingerprint"] = fingerprint(events)
    if repeat:
        again = replay_rendering(render_scenario(config, scenario), config, registry)
        result["deterministic"] = fingerprint(again) == result["fingerprint"]
        result["passed"] = bool(result["passed"] and result["deterministic"])
    result["wall_s"] = round(time.perf_counter() - started, 3)
    return result


def evaluate_scenarios(paths: list[Path] | None = None, repeat: bool = True) -> list[dict[str, object]]:
    """Every scenario of the library (or the given files), each checked, with its determinism proven."""
    results = []
    for path in paths or library_paths():
        scenario = load_scenario(path)
        results.append(run_scenario(load_scenario_config(scenario, Path(path)), scenario, repeat=repeat))
    return results
