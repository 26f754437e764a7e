"""health.reads_zero: a methane head reading zero for minutes is a tampered or blocked head (DOMAIN.md §3)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from collector.pipeline.detection import build_detector_stack
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.rules import catalog
from detectors.rules.reads_zero import READS_ZERO
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.loader import parse_config
from hazwatch.events import AlarmEvent, Transition
from tests.support.detectors import SECOND, T0, of_rule

FACE = "LW-CH4-T1"
"""sites[0].areas[0].sensors[1] of the example mine: a face methane head on a 0–4 % range."""


def mine_document(settings: object | None = None) -> dict:
    document = yaml.safe_load((EXAMPLES / "coal-mine.yaml").read_text())
    if settings is not None:
        document["sites"][0]["areas"][0]["sensors"][1]["detect"] = {"rules": {"reads_zero": settings}}
    return document


class Face:
    """The example mine's stack with the face head fed `readings` every 2 s (other sensors silent)."""

    def __init__(self, settings: object | None = None) -> None:
        config = parse_config(mine_document(settings))
        self.registry = SensorRegistry.from_config(config)
        self.stack = build_detector_stack(self.registry, config, AlarmLifecycle())
        self.slot = self.registry.slot("xinyuan-mine", FACE)

    def feed(self, readings: np.ndarray, start_s: float = 0.0, per_batch: int | None = None) -> list[AlarmEvent]:
        times = T0 + ((start_s + 2.0 * np.arange(len(readings))) * SECOND).astype(np.int64)
        step = per_batch or len(readings)
        events: list[AlarmEvent] = []
        for i in range(0, len(readings), step):
            batch = ReadingBatch.from_columns(np.full(len(readings[i : i + step]), self.slot), times[i : i + step],
                                              readings[i : i + step])
            events += self.stack.update(batch)
        return events


def seconds(event: AlarmEvent) -> float:
    return (event.time_ns - T0) / SECOND


def test_a_face_head_reading_zero_for_ten_minutes_raises_and_clears_on_its_next_real_reading() -> None:
    face = Face({})
    readings = np.r_[np.full(50, 0.4), np.zeros(400), np.full(10, 0.4)]  # zero from 100 s to 898 s
    events = of_rule(face.feed(readings), READS_ZERO, face.slot)
    assert [(e.transition, seconds(e)) for e in events] == [(Transition.RAISE, 700.0), (Transition.CLEAR, 900.0)]
    assert events[0].category == "health" and "tampered or blocked head" in events[0].message


def test_a_dip_to_zero_shorter_than_after_s_raises_nothing() -> None:
    face = Face({"after_s": 600})
    readings = np.r_[np.full(50, 0.4), np.zeros(290), np.full(50, 0.4), np.zeros(290)]
    assert of_rule(face.feed(readings), READS_ZERO) == []


def test_noise_inside_the_zero_band_is_still_zero_and_a_reading_above_it_restarts_the_count() -> None:
    face = Face({"after_s": 120})
    rng = np.random.default_rng(7)
    noise = rng.uniform(-0.009, 0.009, 200)  # inside 0.25 % of the 0–4 % range
    noise[40] = 0.05  # one real reading at 80 s, before the 120 s are up: the run starts again at 82 s
    events = of_rule(face.feed(noise), READS_ZERO, face.slot)
    assert [(e.transition, seconds(e)) for e in events] == [(Transition.RAISE, 202.0)]


def test_one_reading_per_batch_gives_the_same_alarms_as_one_batch() -> None:
    readings = np.r_[np.full(20, 0.4), np.zeros(100), np.full(5, 0.3), np.zeros(80)]
    whole = Face({"after_s": 150}).feed(readings)
    single = Face({"after_s": 150}).feed(readings, per_batch=1)
    assert [(e.rule, e.transition, e.time_ns) for e in whole] == [(e.rule, e.transition, e.time_ns) for e in single]
    assert of_rule(whole, READS_ZERO)


def test_without_the_setting_no_head_is_watched() -> None:
    face = Face()
    assert of_rule(face.feed(np.zeros(600)), READS_ZERO) == []


def test_a_bad_setting_is_refused_with_its_field_path_before_anything_starts(tmp_path: Path) -> None:
    problems = catalog.settings_problems(parse_config(mine_document({"after_s": -5, "band": 0.1})))
    assert sorted(p.path for p in problems) == [
        "sites[0].areas[0].sensors[1].detect.rules.reads_zero.after_s",
        "sites[0].areas[0].sensors[1].detect.rules.reads_zero.band",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(mine_document({"after_s": -5})))
    result = subprocess.run(
        [sys.executable, "-m", "collector", "check", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "sites[0].areas[0].sensors[1].detect.rules.reads_zero.after_s" in result.stderr
