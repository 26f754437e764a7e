"""The one place replay and scenario evaluation build the collector's detector stack.

Replay must run exactly the detectors `hazwatch run` runs, so it asks the collector for them
rather than assembling its own.
"""

from __future__ import annotations

from collector.config.registry import SensorRegistry
from collector.config.schema import HazwatchConfig
from detectors.lifecycle import AlarmLifecycle
from simulators.replay.runner import Detector


def build_stack(config: HazwatchConfig, registry: SensorRegistry | None = None) -> Detector:
    from collector.detection_setup import build_detector_stack

    registry = registry or SensorRegistry.from_config(config)
    return build_detector_stack(registry, config, AlarmLifecycle())
