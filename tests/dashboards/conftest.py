"""Fixtures for the dashboard tests: the example configs, their dashboards, and a filled real influxd."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from grafana_macros import EXAMPLE_CONFIGS
from schema_fixture import FixtureFacts, fill_schema_fixture

from collector.app.localservices import LocalInfluxd, local_influxd
from dashboards.build import build_dashboards
from hazwatch.config import HazwatchConfig, load_config
from hazwatch.config.examples import EXAMPLES


@pytest.fixture(scope="session")
def example_configs() -> list[HazwatchConfig]:
    return [load_config(EXAMPLES / name) for name in EXAMPLE_CONFIGS]


@pytest.fixture(scope="session")
def example_dashboards(example_configs: list[HazwatchConfig]) -> list[dict]:
    """Every dashboard of both example configs (the shared system-health dashboard once)."""
    by_uid: dict[str, dict] = {}
    for config in example_configs:
        for dashboard in build_dashboards(config):
            by_uid.setdefault(dashboard["uid"], dashboard)
    return list(by_uid.values())


@pytest.fixture(scope="session")
def filled_influxd(example_configs: list[HazwatchConfig]) -> Iterator[tuple[LocalInfluxd, FixtureFacts]]:
    """A real influxd holding data for every sensor of both example sites (see schema_fixture.py)."""
    with local_influxd() as influxd:
        facts = fill_schema_fixture(influxd.url, example_configs)
        yield influxd, facts
