"""Multi-sensor rules: reactor runaway, ventilation failure at a face, 2-out-of-3 voting."""

from __future__ import annotations

import numpy as np

from detectors.rules import multisensor
from detectors.rules.threshold import HIGH
from hazwatch.events import Transition
from hazwatch.quality import Quality
from tests.support.detectors import SECOND, T0, of_rule


def runaway_profile(minutes: np.ndarray, start_min: float) -> tuple[np.ndarray, np.ndarray]:
    """Cooling lost at start_min: dT/dt = 0.5 °C/min doubling per +10 °C; pressure doubles per +20 °C."""
    temperature = np.full(len(minutes), 70.0)
    dt = np.diff(minutes, prepend=minutes[0])
    for i in range(1, len(minutes)):
        rate = 0.5 * 2 ** ((temperature[i - 1] - 70) / 10) if minutes[i] > start_min else 0.0
        temperature[i] = min(temperature[i - 1] + rate * dt[i], 250.0)
    pressure = 300.0 * 2 ** ((temperature - 70) / 20)
    return temperature, pressure


def test_a_runaway_raises_the_multi_sensor_alarm_before_the_temperature_limit(plant) -> None:
    minutes = np.arange(0, 40 * 60, 2.0) / 60
    temperature, pressure = runaway_profile(minutes, start_min=10)
    rng = np.random.default_rng(4)
    temperature += rng.normal(0, 0.05, len(minutes))
    pressure += rng.normal(0, 1.0, len(minutes))
    series = {"R101-TT-A": temperature, "R101-PT": pressure}
    events = plant.cycles(0, len(minutes), 2.0, series, noise=0.002)
    runaway = of_rule(events, multisensor.RUNAWAY, plant.slot("R-101-runaway"))
    limit = of_rule(events, HIGH, plant.slot("R101-TT-A"))
    assert runaway and limit
    assert runaway[0].transition is Transition.RAISE and runaway[0].priority == "critical"
    assert (runaway[0].time_ns - T0) / 60e9 > 10, "nothing before the cooling loss"
    lead_min = (limit[0].time_ns - runaway[0].time_ns) / 60e9
    assert lead_min >= 5, f"only {lead_min:.1f} min before the 85 °C limit"


def test_temperature_rising_alone_is_not_a_runaway(plant) -> None:
    minutes = np.arange(0, 20 * 60, 2.0) / 60
    temperature = 60 + 1.0 * minutes
    events = plant.cycles(0, len(minutes), 2.0, {"R101-TT-A": temperature, "R101-PT": np.full(len(minutes), 300.0)})
    assert of_rule(events, multisensor.RUNAWAY) == []


def test_methane_rising_while_air_velocity_falls_is_a_ventilation_failure(mine) -> None:
    rng = np.random.default_rng(9)
    t_min = np.arange(0, 60 * 60, 2.0) / 60
    stopped = t_min >= 30
    velocity = np.where(stopped, 0.3, 2.0) + rng.normal(0, 0.03, len(t_min))
    ch4 = 0.3 + np.where(stopped, 0.02 * (t_min - 30), 0) + rng.normal(0, 0.01, len(t_min))
    events = mine.cycles(0, len(t_min), 2.0, {"HD-AV": velocity, "HD-CH4-T1": ch4}, noise=0.01)
    (raised,) = of_rule(events, multisensor.VENTILATION)
    assert raised.slot == mine.slot("2103-heading-ventilation") and raised.transition is Transition.RAISE
    assert mine.registry.sensors[raised.slot].name == "2103 heading ventilation", "on the group's own slot"
    assert 30 < (raised.time_ns - T0) / 60e9 < 36, "within minutes of the fan stopping"
    assert of_rule(events, HIGH, mine.slot("HD-CH4-T1")) == [], "long before the methane limit"


def test_a_deliberate_velocity_change_without_methane_is_not_an_alarm(mine) -> None:
    t_min = np.arange(0, 40 * 60, 2.0) / 60
    velocity = np.where(t_min >= 20, 1.2, 2.0)
    events = mine.cycles(0, len(t_min), 2.0, {"HD-AV": velocity, "HD-CH4-T1": np.full(len(t_min), 0.3)}, noise=0.01)
    assert of_rule(events, multisensor.VENTILATION) == []


def test_two_of_three_redundant_sensors_must_agree(plant) -> None:
    group = plant.slot("R-101-temperature-2oo3")
    one_high = plant.cycle(0, {"R101-TT-A": 90.0, "R101-TT-B": 70.0, "R101-TT-C": 70.0})
    assert of_rule(one_high, multisensor.VOTE) == []
    two_high = plant.cycle(2, {"R101-TT-A": 90.0, "R101-TT-B": 91.0, "R101-TT-C": 70.0})
    (vote,) = of_rule(two_high, multisensor.VOTE)
    assert (vote.slot, vote.level, vote.level_name) == (group, 1, "high")
    assert vote.value == 90.0, "the median of the three"
    back = plant.cycle(4, {"R101-TT-A": 70.0, "R101-TT-B": 70.0, "R101-TT-C": 70.0})
    assert [e.transition for e in of_rule(back, multisensor.VOTE)] == [Transition.CLEAR]


def test_with_a_member_out_the_vote_degrades_to_one_out_of_two(plant) -> None:
    for i in range(3):
        plant.cycle(2 * i, {})
    silent_c = {"R101-TT-C": Quality.OFFLINE}
    events = []
    for i in range(3, 30):
        events += plant.cycle(2 * i, {"R101-TT-A": 92.0, "R101-TT-B": 70.0, "R101-TT-C": float("nan")}, silent_c)
    vote = of_rule(events, multisensor.VOTE)
    assert [e.level for e in vote] == [1]
    assert (vote[0].time_ns - T0) / SECOND > 4 + 6, "only once C has been silent past its stale time"


def test_the_vote_stays_raised_when_the_member_listed_first_goes_offline(plant) -> None:
    """The 2oo3 vote exists to survive one member failing: that member's offline alarm must not withdraw it."""
    events = []
    for i in range(3):
        events += plant.cycle(2 * i, {"R101-TT-A": 92.0, "R101-TT-B": 91.0, "R101-TT-C": 90.0})
    silent_a = {"R101-TT-A": Quality.OFFLINE}
    for i in range(3, 40):
        events += plant.cycle(2 * i, {"R101-TT-A": float("nan"), "R101-TT-B": 91.0, "R101-TT-C": 90.0}, silent_a)
        events += plant.stack.tick(T0 + int(2 * i * SECOND))  # the dead-man runs on the clock
    assert of_rule(events, "health.offline", plant.slot("R101-TT-A")), "A's own offline alarm is raised"
    vote = of_rule(events, multisensor.VOTE)
    assert [(e.transition, e.level) for e in vote] == [(Transition.RAISE, 1)], "and the vote is never withdrawn"
