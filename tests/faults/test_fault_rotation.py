"""The short form of the fault-injection suite: every fault once, a few seconds each, against one installation
of real parts (tests/support/fault_rig.py); the soak (`python -m tests.support.soak`) is the long form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fault_rig import FaultRig

pytestmark = pytest.mark.faults


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[FaultRig]:
    rig = FaultRig(tmp_path)
    try:
        rig.start()
        yield rig
    finally:
        rig.stop()


@pytest.mark.timeout(420)
def test_after_every_kind_of_fault_nothing_acknowledged_is_missing_and_every_alarm_was_delivered(rig: FaultRig) -> None:
    for fault in FaultRig.FAULTS:
        rig.fault(fault, seconds=4)
        assert rig.up(), f"hazwatch died after {fault}:\n{rig.hazwatch.log()[-2000:]}"
    figures = rig.settle(timeout=90)
    print(figures)
    assert figures.sensors_equal == figures.sensors, f"per-sensor counts differ\n{figures}"
    assert figures.announced > 0, "the methane alarm and the device outage must have raised something"
    assert figures.delivered == figures.announced, f"alarm events missing at the receiver\n{figures}"
    assert rig.duplicates_differ() == [], "a duplicate delivery must be the same event"
