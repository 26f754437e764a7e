"""`python -m benchmarks --quick` is the CI check of the benchmark harness: it must run end to end
against the real services and write every result key (figures are not judged here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.results import REQUIRED_KEYS, TARGETS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done, json.loads(output.read_text())


def test_every_key_is_written_with_a_figure(quick_run) -> None:
    """A part that crashed would write its reason instead of a figure: in the quick run that is a failure."""
    _, results = quick_run
    for key in REQUIRED_KEYS:
        assert key in results, key
        value = results[key]
        assert value is not None, f"{key}: {results.get('not_measured', {}).get(key)}"
        assert isinstance(value, int | float) and value > 0, (key, value)


def test_detectors_are_measured_side_by_side_at_each_quick_size(quick_run) -> None:
    _, results = quick_run
    by_size = results["detectors_by_sensors"]
    assert set(by_size) == {"1000", "10000"}
    assert {"stack", "python", "river"} <= set(by_size["10000"])


def test_end_to_end_counts_what_influxd_stored(quick_run) -> None:
    _, results = quick_run
    e2e = results["e2e"]
    assert e2e["stored"] + e2e["lost"] == e2e["published"]
    assert e2e["alarms_delivered"] <= e2e["alarms_injected"]


def test_the_table_names_every_target_and_the_machine_is_recorded(quick_run) -> None:
    done, results = quick_run
    for target in TARGETS:
        assert target.label.strip()[:20] in done.stdout
    assert results["machine"]["nproc"]
    assert results["mode"] == "quick"


def test_the_json_says_met_or_missed_for_every_target(quick_run) -> None:
    _, results = quick_run
    verdicts = results["targets"]
    assert set(verdicts) == {t.key for t in TARGETS if t.goal}
    for target in TARGETS:
        if not target.goal:
            continue
        verdict = verdicts[target.key]
        value = results[target.key]
        assert verdict["value"] == value
        if isinstance(value, int | float):
            met = value >= target.goal if target.higher_is_better else value <= target.goal
            assert verdict["status"] == ("met" if met else "missed")
        else:
            assert verdict["status"] == "not measured"
