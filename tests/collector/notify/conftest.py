"""Fixtures: real HTTP receivers on free loopback ports and the example mine's registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from notify_harness import Receiver


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"



@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.up()
    yield r
    await r.down()
