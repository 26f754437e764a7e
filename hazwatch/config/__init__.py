"""Site configuration: one YAML file per site is the truth for every sensor's identity and limits."""

from hazwatch.config.loader import ConfigError, ConfigProblem, load_config, load_configs
from hazwatch.config.registry import SensorInfo, SensorRegistry
from hazwatch.config.schema import HazwatchConfig, Site

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "HazwatchConfig",
    "SensorInfo",
    "SensorRegistry",
    "Site",
    "load_config",
    "load_configs",
]
