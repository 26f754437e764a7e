"""Resident bytes per sensor of the registry plus the detector stack, measured in a fresh process.

The batch is allocated before the baseline reading, so only what scales with the fleet's
configuration and detector state is counted; two poll cycles are run so lazily allocated
state (rings, carried values) is in.
"""

from __future__ import annotations

import gc

import numpy as np

from benchmarks.fleet import POLL_INTERVAL_NS, START_NS, replicate, sensors_per_site
from benchmarks.procs import rss_bytes
from hazwatch.batch import ReadingBatch
from hazwatch.quality import Quality


def memory_worker(sensors: int) -> dict:
    from benchmarks.detectors import stack_builder
    from detectors.alarms.lifecycle import AlarmLifecycle
    from hazwatch.config.registry import SensorRegistry

    build, reason = stack_builder()
    sites = max(1, round(sensors / sensors_per_site()))
    config = replicate(sites)
    n = sites * sensors_per_site()
    batches = [
        ReadingBatch(
            np.arange(n, dtype=np.int32),
            np.full(n, START_NS + k * POLL_INTERVAL_NS, dtype=np.int64),
            np.full(n, 0.2),
            np.full(n, Quality.GOOD, dtype=np.uint8),
        )
        for k in range(2)
    ]
    gc.collect()
    before = rss_bytes()
    registry = SensorRegistry.from_config(config)
    gc.collect()
    after_registry = rss_bytes()
    result = {"sensors": n, "registry_bytes_per_sensor": (after_registry - before) / n}
    if build is None:
        result["error"] = reason
        return result
    stack = build(registry, config, AlarmLifecycle())
    for batch in batches:
        stack.update(batch)
    gc.collect()
    after = rss_bytes()
    result["stack_bytes_per_sensor"] = (after - after_registry) / n
    result["rss_bytes_per_sensor"] = (after - before) / n
    return result
