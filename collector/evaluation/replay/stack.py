"""The one place replay and scenario evaluation build the collector's detector stack.

Replay must run exactly the detectors `hazwatch run` runs, so it asks the collector for them
rather than assembling its own.
"""

from __future__ import annotations

from collector.pipeline.detection import build_detector_stack
from collector.pipeline.protocols import Detector
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig


def build_stack(config: HazwatchConfig, registry: SensorRegistry | None = None) -> Detector:
    registry = registry or SensorRegistry.from_config(config)
    return build_detector_stack(registry, config, AlarmLifecycle())
