"""Sensor-health rules, and how they hold off a faulty sensor's process alarms."""

from __future__ import annotations

import numpy as np

from detectors.rules import health
from detectors.rules.threshold import HIGH, LOW
from hazwatch.events import Transition
from hazwatch.quality import Quality
from tests.support.detectors import SECOND, T0, of_rule


def process_events(events):
    return [e for e in events if e.category == "process"]


def test_a_calibration_plateau_raises_no_process_alarm(mine) -> None:
    """Test gas (~2 % CH4 for 2 min, flagged CALIBRATION) is recorded, never an over-limit or a trend."""
    plateau = np.r_[np.linspace(0.4, 2.05, 5), np.full(50, 2.05), np.linspace(2.05, 0.4, 5)]
    events = []
    for i, ch4 in enumerate(np.r_[np.full(30, 0.4), plateau, np.full(30, 0.4)]):
        calibrating = 30 <= i < 30 + len(plateau)
        quality = {"LW-CH4-T1": Quality.CALIBRATION} if calibrating else {}
        events += mine.cycle(2 * i, {"LW-CH4-T1": float(ch4)}, quality)
    slot = mine.slot("LW-CH4-T1")
    assert [e for e in process_events(events) if e.slot == slot] == []
    calibration = of_rule(events, health.CALIBRATION, slot)
    assert [e.transition for e in calibration] == [Transition.RAISE, Transition.CLEAR]
    assert calibration[0].extra["out_of_service"] is True


def test_a_stuck_sensor_raises_a_health_alarm(mine) -> None:
    """A return CO head frozen at one value for more than an hour (default stuck time for gases)."""
    steps = 2000
    events = mine.cycles(0, steps, 2.0, {"LW-CO-T2": np.full(steps, 3.0)}, noise=0.01)
    stuck = of_rule(events, health.STUCK)
    assert [(e.slot, e.transition) for e in stuck] == [(mine.slot("LW-CO-T2"), Transition.RAISE)]
    assert (stuck[0].time_ns - T0) / SECOND == 3600
    moving = mine.cycles(steps * 2, 3, 2.0, {"LW-CO-T2": np.array([3.0, 3.2, 3.1])}, noise=0.01)
    assert [e.transition for e in of_rule(moving, health.STUCK)] == [Transition.CLEAR]


def test_binary_sensors_are_never_stuck(mine) -> None:
    events = mine.cycles(0, 2000, 2.0, {}, noise=0.01)
    fans = {mine.slot("HD-FAN"), mine.slot("MR-FAN1")}
    assert not any(e.slot in fans for e in of_rule(events, health.STUCK))


def test_an_offline_sensor_raises_a_health_alarm_and_clears_when_it_reports(mine) -> None:
    slot = mine.slot("LW-CH4-T1")
    mine.stack.tick(T0)
    for i in range(5):
        mine.cycle(2 * i, {})
    quality = {"LW-CH4-T1": Quality.OFFLINE}
    events = []
    for i in range(5, 12):
        events += mine.cycle(2 * i, {"LW-CH4-T1": float("nan")}, quality)
        events += mine.stack.tick(T0 + (2 * i + 1) * SECOND)
    offline = of_rule(events, health.OFFLINE)
    assert [(e.slot, e.transition) for e in offline] == [(slot, Transition.RAISE)]
    assert (offline[0].time_ns - T0) / SECOND > 8 + 6, "poll interval 2 s × 3 missed intervals after the last"
    back = mine.cycle(30, {})
    assert [e.transition for e in of_rule(back, health.OFFLINE, slot)] == [Transition.CLEAR]


def test_a_silent_device_is_one_alarm_not_one_per_sensor(mine) -> None:
    mine.stack.tick(T0)
    mine.cycle(0, {})
    events = mine.stack.tick(T0 + 60 * SECOND)
    assert of_rule(events, health.OFFLINE) == []
    devices = of_rule(events, health.DEVICE_OFFLINE)
    assert len(devices) == len(mine.config.sites[0].devices)
    assert all(e.transition is Transition.RAISE for e in devices)


def test_a_backlog_of_late_readings_keeps_a_silent_device_offline_until_current_data_arrives(mine) -> None:
    """Readings delivered long after they were taken (a collector catching up on its broker's backlog) prove
    the link, not that the values are current. Clearing on each and raising again at the next tick chattered
    twice a second; now the alarm clears once, when readings stamped within the offline time arrive."""
    mine.stack.tick(T0)
    mine.cycle(0, {})
    raised = of_rule(mine.stack.tick(T0 + 60 * SECOND), health.DEVICE_OFFLINE)
    assert raised and all(e.transition is Transition.RAISE for e in raised)
    catching_up = []
    for i in range(1, 20):  # readings of 1..19 s, delivered while the clock runs from 60 s on
        catching_up += mine.cycle(i, {})
        catching_up += mine.stack.tick(T0 + (60 + i) * SECOND)
    assert of_rule(catching_up, health.DEVICE_OFFLINE) == [] and of_rule(catching_up, health.OFFLINE) == []
    current = of_rule(mine.cycle(79, {}), health.DEVICE_OFFLINE)
    assert sorted(e.slot for e in current) == sorted(e.slot for e in raised)
    assert all(e.transition is Transition.CLEAR for e in current)


def test_a_device_silent_for_five_minutes_escalates_to_long_offline(mine) -> None:
    """The safety bureau subscribes to level 2: a long outage reaches it, a short one does not."""
    mine.stack.tick(T0)
    mine.cycle(0, {})
    short = mine.stack.tick(T0 + 60 * SECOND)
    assert {e.level for e in of_rule(short, health.DEVICE_OFFLINE)} == {1}
    long = mine.stack.tick(T0 + 301 * SECOND)
    escalated = of_rule(long, health.DEVICE_OFFLINE)
    assert len(escalated) == len(mine.config.sites[0].devices)
    assert all(e.transition is Transition.ESCALATE and e.level == 2 for e in escalated)
    assert all(e.level_name == "device_long_offline" for e in escalated)


def test_offline_suppresses_the_process_alarm_but_not_a_latched_power_cut(mine) -> None:
    mine.stack.tick(T0)
    events = mine.cycle(0, {"LW-CO-T2": 40.0, "LW-CH4-T1": 1.7})
    assert len(of_rule(events, HIGH)) == 2
    events = mine.stack.tick(T0 + 60 * SECOND)
    cleared = [e for e in of_rule(events, HIGH) if e.transition is Transition.CLEAR]
    assert [e.slot for e in cleared] == [mine.slot("LW-CO-T2")]
    assert cleared[0].extra["suppressed_by"] == health.DEVICE_OFFLINE
    assert mine.lifecycle.status(mine.slot("LW-CH4-T1"), HIGH).level == 2


def test_a_process_alarm_comes_back_when_the_fault_clears(mine) -> None:
    slot = mine.slot("LW-O2-T1")
    events = mine.cycle(0, {"LW-O2-T1": 18.0})
    assert [e.transition for e in of_rule(events, LOW, slot)] == [Transition.RAISE]
    events = mine.cycle(2, {"LW-O2-T1": float("nan")}, {"LW-O2-T1": Quality.FAULT})
    assert [e.transition for e in of_rule(events, LOW, slot)] == [Transition.CLEAR]
    assert [e.transition for e in of_rule(events, health.FAULT, slot)] == [Transition.RAISE]
    events = mine.cycle(4, {"LW-O2-T1": 18.0})
    assert [e.transition for e in of_rule(events, health.FAULT, slot)] == [Transition.CLEAR]
    assert [e.transition for e in of_rule(events, LOW, slot)] == [Transition.RAISE]


def test_a_negative_reading_is_a_fault_but_over_range_gas_is_real(mine) -> None:
    events = mine.cycle(0, {"LW-CO-T2": -30.0, "LW-CH4-T0": 4.5})
    (below,) = of_rule(events, health.RANGE)
    assert below.slot == mine.slot("LW-CO-T2")
    (above,) = of_rule(events, health.OVERRANGE)
    assert above.slot == mine.slot("LW-CH4-T0")
    cut = of_rule(events, HIGH, mine.slot("LW-CH4-T0"))
    assert [e.level_name for e in cut] == ["power_cut"], "an outburst saturating the head still cuts power"


def test_a_one_sample_spike_to_full_scale_is_flagged_and_noise_is_not(mine) -> None:
    rng = np.random.default_rng(7)
    ch4 = 0.4 + rng.normal(0, 0.02, 300)
    ch4[100] = 3.9
    events = mine.cycles(0, 300, 2.0, {"LW-CH4-T2": ch4}, noise=0.01)
    spikes = of_rule(events, health.SPIKE)
    slot = mine.slot("LW-CH4-T2")
    assert [(e.slot, e.transition) for e in spikes] == [(slot, Transition.RAISE), (slot, Transition.CLEAR)]
    assert (spikes[0].time_ns - T0) / SECOND == 202, "seen when the reading after the spike is back"


def test_two_sample_spikes_are_flagged_and_a_step_is_not(mine) -> None:
    ch4 = np.full(40, 0.4)
    ch4[10:12] = 3.8
    ch4[25:] = 2.5
    events = mine.cycles(0, 40, 2.0, {"LW-CH4-T2": ch4}, noise=0.01)
    spikes = of_rule(events, health.SPIKE)
    assert [(e.transition, (e.time_ns - T0) // SECOND) for e in spikes] == [(Transition.RAISE, 24)]


def test_a_head_reading_zero_while_its_airflow_neighbour_alarms_is_tampering(mine) -> None:
    events = mine.cycle(0, {"LW-CH4-T2": 1.1, "LW-CH4-T2B": 0.0})
    (tamper,) = of_rule(events, health.DISAGREEMENT)
    assert tamper.slot == mine.slot("LW-CH4-T2B")
    assert tamper.transition is Transition.RAISE
    both_alarm = mine.cycle(2, {"LW-CH4-T2": 1.1, "LW-CH4-T2B": 1.05})
    assert [e.transition for e in of_rule(both_alarm, health.DISAGREEMENT)] == [Transition.CLEAR]
