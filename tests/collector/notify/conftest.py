"""Fixtures: real HTTP receivers on free loopback ports and the example mine's registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from notify_harness import Receiver

from collector.config import SensorRegistry, load_config

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def mine_registry() -> SensorRegistry:
    return SensorRegistry.from_config(load_config(EXAMPLES / "coal-mine.yaml"))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.up()
    yield r
    await r.down()
