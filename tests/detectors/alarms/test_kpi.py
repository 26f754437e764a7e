"""ISA-18.2 alarm KPIs from an event stream: rate, floods, chattering, stale alarms, bad actors, priority split."""

from __future__ import annotations

import pytest

from detectors.alarms.kpi import KpiRecord, compute_kpis

S = 1_000_000_000
MIN = 60 * S
HOUR = 60 * MIN


def activation(key: str, t_ns: int, priority: str = "low") -> KpiRecord:
    return KpiRecord(key, "raise", priority, t_ns)


def test_a_burst_of_twelve_alarms_is_one_flood_that_ends_when_the_rate_falls_below_five():
    burst = [activation(f"mine/S{i}/threshold.high", i * 10 * S) for i in range(12)]  # 0..110 s
    kpis = compute_kpis(burst, start_ns=0, end_ns=2 * HOUR)

    (flood,) = kpis.flood_periods
    assert flood.start_ns == 10 * 10 * S  # the 11th activation makes it more than 10 in 10 min
    # 8 of 12 have left the trailing window (> 4 remain) at 70 s + 10 min; the 8th leaves at 70 s + 600 s.
    assert flood.end_ns == 70 * S + 10 * MIN
    assert flood.alarms == 12
    assert kpis.flood_percent_time == pytest.approx(100 * (flood.end_ns - flood.start_ns) / (2 * HOUR))
    assert kpis.per_10min_max == 12
    assert kpis.per_10min_mean == pytest.approx(12 / 12)


def test_ten_alarms_in_ten_minutes_is_not_yet_a_flood():
    records = [activation(f"mine/S{i}/r", i * 50 * S) for i in range(10)]
    assert compute_kpis(records, start_ns=0, end_ns=HOUR).flood_periods == []


def test_three_activations_within_a_minute_is_chattering_and_within_ninety_seconds_is_not():
    records = [activation("mine/A/r", t * S) for t in (0, 20, 50)]
    records += [activation("mine/B/r", t * S) for t in (0, 45, 90)]
    kpis = compute_kpis(records)
    assert kpis.chattering == {"mine/A/r": 3}


def test_an_alarm_active_for_more_than_a_day_is_stale_and_one_cleared_in_time_is_not():
    records = [
        activation("mine/A/r", 0),
        activation("mine/B/r", 0),
        KpiRecord("mine/B/r", "clear", "low", 2 * HOUR),
        activation("mine/C/r", 0),
        KpiRecord("mine/C/r", "clear", "low", 25 * HOUR),
    ]
    kpis = compute_kpis(records, start_ns=0, end_ns=30 * HOUR)
    assert sorted((s.key, round(s.active_hours)) for s in kpis.stale) == [("mine/A/r", 30), ("mine/C/r", 25)]


def test_bad_actors_are_ranked_by_activations_and_the_priority_split_is_in_percent():
    records = [activation("mine/A/r", t * HOUR, "low") for t in range(8)]
    records += [activation("mine/B/r", t * HOUR, "medium") for t in range(3)]
    records += [activation("mine/C/r", 0, "high")]
    records += [KpiRecord("mine/A/r", "ack", "low", 1)]  # only activations count
    kpis = compute_kpis(records)
    assert kpis.alarms == 12
    assert kpis.bad_actors == [("mine/A/r", 8), ("mine/B/r", 3), ("mine/C/r", 1)]
    assert kpis.priority_split == pytest.approx({"low": 800 / 12, "medium": 300 / 12, "high": 100 / 12})


def test_an_empty_stream_gives_zero_kpis():
    kpis = compute_kpis([])
    assert (kpis.alarms, kpis.per_10min_max, kpis.flood_periods, kpis.bad_actors) == (0, 0, [], [])
