"""The detector stack `hazwatch run`, the demo and replay all use: every rule of the catalog, one lifecycle.

Each rule reads its own parameters from the site config (detectors/rules/*.py, found by
detectors/rules/catalog.py); what this module adds is the collector's side: bad settings refused as a
ConfigError before anything starts, and rows kept out of detection counted and logged.
"""

from __future__ import annotations

import logging

from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from detectors.engine.stack import DetectorStack, Lifecycle
from detectors.rules.catalog import build_rules, settings_problems
from hazwatch.config.loader import ConfigError
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig

log = RateLimitedLog(logging.getLogger("hazwatch.detectors"))


def count_skipped(reason: str, rows: int) -> None:
    metrics.DETECTOR_ROWS_SKIPPED.labels(reason).inc(rows)
    log.warning(f"skipped:{reason}", "%d readings kept out of detection: %s", rows, reason)


def build_detector_stack(registry: SensorRegistry, config: HazwatchConfig, lifecycle: Lifecycle) -> DetectorStack:
    problems = settings_problems(config)
    if problems:
        raise ConfigError("detector settings", problems)
    return DetectorStack(len(registry), build_rules(registry, config), lifecycle, on_bad_input=count_skipped)
