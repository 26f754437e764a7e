"""Site configuration: one YAML file per site is the truth for every sensor's identity and limits."""

from collector.config.loader import ConfigError, ConfigProblem, load_config, load_configs
from collector.config.registry import SensorInfo, SensorRegistry
from collector.config.schema import HazwatchConfig, Site

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
