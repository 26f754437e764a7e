"""A private influxd per fault test (mosquitto comes from tests/conftest.py), on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.app.localservices import LocalInfluxd, local_influxd


@pytest.fixture
def influxd() -> Iterator[LocalInfluxd]:
    with local_influxd() as server:
        yield server
