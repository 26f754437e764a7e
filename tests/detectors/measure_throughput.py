"""Readings/s of the full detector stack as configured for a mine (not a test: run it by hand).

    .venv/bin/python tests/detectors/measure_throughput.py --sensors 10000 --steps 100

Copies of the example coal mine are stacked until the sensor count is reached; each batch holds `steps`
poll cycles of every sensor (a time-major grid), values are quiet noise around normal levels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from collector.pipeline.detection import build_detector_stack
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_config

SECOND = 1_000_000_000


def mine_registry(sensors: int) -> tuple[SensorRegistry, object]:
    base = load_config("examples/coal-mine.yaml")
    site = base.sites[0]
    copies = -(-sensors // sum(len(a.sensors) for a in site.areas))
    config = base.model_copy(update={"sites": [site.model_copy(update={"id": f"mine{i}"}) for i in range(copies)]})
    return SensorRegistry.from_config(config), config


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sensors", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    registry, config = mine_registry(args.sensors)
    n = len(registry)
    stack = build_detector_stack(registry, config, AlarmLifecycle())
    rng = np.random.default_rng(0)
    span = registry.range_max - registry.range_min
    normal = registry.range_min + 0.01 * span
    for s in registry:
        if s.kind.value == "O2":
            normal[s.slot] = 20.9
    slots = np.tile(np.arange(n, dtype=np.int32), args.steps)
    t0 = 1_700_000_000 * SECOND
    elapsed = 0.0
    for b in range(args.batches + 1):
        times = t0 + (b * args.steps + np.repeat(np.arange(args.steps), n)) * SECOND
        values = np.tile(normal, args.steps) + rng.normal(0, 0.001, n * args.steps) * np.tile(span, args.steps)
        batch = ReadingBatch.from_columns(slots, times, values)
        started = time.perf_counter()
        events = stack.update(batch)
        stack.tick(int(times[-1]))
        if b:
            elapsed += time.perf_counter() - started
        if b == 1:
            print(f"events in a quiet batch: {len(events)}")
    readings = n * args.steps * args.batches
    print(f"{n} sensors × {args.steps} steps: {readings / elapsed / 1e6:.1f} M readings/s")


if __name__ == "__main__":
    main()
