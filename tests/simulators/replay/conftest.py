from pathlib import Path

import pytest

from collector.config import HazwatchConfig, load_config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="session")
def mine_config() -> HazwatchConfig:
    return load_config(EXAMPLES / "coal-mine.yaml")


@pytest.fixture(scope="session")
def plant_config() -> HazwatchConfig:
    return load_config(EXAMPLES / "chemical-plant.yaml")


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES
