"""Waiting for a condition across threads and processes, and reading hazwatch's own metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import REGISTRY


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def wait_until_settled(value: Callable[[], object], timeout: float = 30.0, quiet_s: float = 2.0) -> object:
    """Wait until `value()` has not changed for `quiet_s` seconds (e.g. every queued message stored); returns it."""
    deadline = time.monotonic() + timeout
    last, since = value(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        if time.monotonic() > deadline:
            raise AssertionError(f"still changing after {timeout} s: {last!r}"[:500])
        time.sleep(0.25)
        current = value()
        if current != last:
            last, since = current, time.monotonic()
    return last
