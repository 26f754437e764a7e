"""The ISA-18.2 alarm lifecycle, as an operator and a safety inspector expect it to behave."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import ActionRefused, AlarmLifecycle
from hazwatch.events import AlarmState, Transition

S = 1_000_000_000
FACE = 3
RULE = "threshold.high"


def methane(level: int, t: float, value: float = 1.2, slot: int = FACE, rule: str = RULE) -> ConditionChange:
    """The face-methane condition as the threshold detector reports it: level 2 (power-cut) latches."""
    names = {0: "normal", 1: "alarm", 2: "power_cut"}
    limits = {0: 1.0, 1: 1.0, 2: 1.5}
    return ConditionChange(
        slot=slot,
        rule=rule,
        category="process",
        level=level,
        level_name=names[level],
        priority="critical" if level == 2 else "high",
        value=value,
        limit=limits[level],
        time_ns=int(t * S),
        message=f"CH4 {value} %",
        latch=level == 2,
    )


def test_methane_through_alarm_and_power_cut_then_back_raises_escalates_clears_and_stays_latched():
    lc = AlarmLifecycle()
    events = lc.apply([methane(1, 1, 1.05)], 1 * S)
    events += lc.apply([methane(2, 2, 1.55)], 2 * S)
    events += lc.apply([methane(0, 3, 0.9)], 3 * S)

    assert [(e.transition, e.state, e.level, e.level_name) for e in events] == [
        (Transition.RAISE, AlarmState.UNACKNOWLEDGED, 1, "alarm"),
        (Transition.ESCALATE, AlarmState.UNACKNOWLEDGED, 2, "power_cut"),
        (Transition.CLEAR, AlarmState.LATCHED, 2, "power_cut"),
    ]
    assert all(e.annunciate for e in events)
    (status,) = lc.active()
    assert status.state is AlarmState.LATCHED and status.latched and status.level == 2


def test_a_latched_power_cut_is_reset_only_once_the_reading_is_back_below_restore():
    lc = AlarmLifecycle()
    lc.apply([methane(2, 1, 1.6)], 1 * S)
    with pytest.raises(ActionRefused, match="still at power_cut"):
        lc.reset(FACE, RULE, "li.wei", 2 * S)
    lc.apply([methane(0, 3, 0.8)], 3 * S)

    (reset,) = lc.reset(FACE, RULE, "li.wei", 4 * S)

    assert reset.transition is Transition.RESET and reset.state is AlarmState.NORMAL
    assert reset.extra["user"] == "li.wei"
    assert lc.active() == []


def test_a_cleared_unacknowledged_alarm_waits_for_acknowledgement_then_leaves_the_list():
    lc = AlarmLifecycle()
    lc.apply([methane(1, 1)], 1 * S)
    (clear,) = lc.apply([methane(0, 2, 0.9)], 2 * S)
    assert clear.state is AlarmState.RTN_UNACKNOWLEDGED
    assert [a.state for a in lc.active()] == [AlarmState.RTN_UNACKNOWLEDGED]

    (ack,) = lc.acknowledge(FACE, RULE, "op", 3 * S)

    assert ack.transition is Transition.ACK and ack.state is AlarmState.NORMAL
    assert lc.active() == []


def test_acknowledging_twice_is_refused_and_an_escalation_needs_a_new_acknowledgement():
    lc = AlarmLifecycle()
    lc.apply([methane(1, 1)], 1 * S)
    lc.acknowledge(FACE, RULE, "op", 2 * S)
    with pytest.raises(ActionRefused, match="already acknowledged"):
        lc.acknowledge(FACE, RULE, "op", 3 * S)

    (escalate,) = lc.apply([methane(2, 4, 1.6)], 4 * S)

    assert escalate.state is AlarmState.UNACKNOWLEDGED
    assert lc.acknowledge(FACE, RULE, "op", 5 * S)[0].state is AlarmState.ACKNOWLEDGED


def test_an_acknowledged_alarm_that_clears_is_gone_and_acting_on_it_is_refused():
    lc = AlarmLifecycle()
    lc.apply([methane(1, 1)], 1 * S)
    lc.acknowledge(FACE, RULE, "op", 2 * S)
    (clear,) = lc.apply([methane(0, 3, 0.9)], 3 * S)
    assert clear.state is AlarmState.NORMAL
    with pytest.raises(ActionRefused, match="no active alarm"):
        lc.acknowledge(FACE, RULE, "op", 4 * S)


def test_a_clear_without_a_raise_is_ignored():
    assert AlarmLifecycle().apply([methane(0, 1, 0.5)], 1 * S) == []


def test_chattering_alarms_stop_paging_but_a_power_cut_always_pages():
    lc = AlarmLifecycle(chatter_count=3, chatter_window_s=60)
    raises = []
    for i in range(4):
        events = lc.apply([methane(1, 10 * i), methane(0, 10 * i + 5, 0.9)], 10 * i + 5)
        raises.append(events[0])
    assert [e.annunciate for e in raises] == [True, True, False, False]
    assert raises[2].extra["chattering"] is True

    (power_cut,) = lc.apply([methane(2, 40, 1.6)], 40 * S)
    assert power_cut.transition is Transition.RAISE and power_cut.annunciate


def test_when_chattering_ends_a_standing_alarm_nobody_was_paged_for_is_renotified():
    lc = AlarmLifecycle(chatter_count=3, chatter_window_s=60)
    lc.apply([methane(1, 0), methane(0, 1, 0.9), methane(1, 2), methane(0, 3, 0.9)], 3 * S)
    lc.acknowledge(FACE, RULE, "op", 4 * S)
    (silent,) = lc.apply([methane(1, 5)], 5 * S)
    assert not silent.annunciate

    assert lc.tick(30 * S) == []
    (renotify,) = lc.tick(70 * S)

    assert renotify.transition is Transition.RENOTIFY and renotify.annunciate
    assert renotify.state is AlarmState.UNACKNOWLEDGED


def test_shelving_silences_an_alarm_until_it_expires():
    lc = AlarmLifecycle()
    (shelve,) = lc.shelve(FACE, RULE, "op", until_ns=100 * S, now_ns=1 * S)
    assert shelve.state is AlarmState.SHELVED

    (raise_,) = lc.apply([methane(1, 10)], 10 * S)
    assert raise_.state is AlarmState.SHELVED and not raise_.annunciate

    assert lc.tick(99 * S) == []
    (expired,) = lc.tick(100 * S)
    assert expired.transition is Transition.UNSHELVE and expired.extra["user"] == "system"
    assert expired.state is AlarmState.UNACKNOWLEDGED and expired.annunciate


def test_a_power_cut_cannot_be_shelved_and_breaks_through_an_earlier_shelving():
    lc = AlarmLifecycle()
    lc.shelve(FACE, RULE, "op", until_ns=100 * S, now_ns=1 * S)
    events = lc.apply([methane(2, 10, 1.6)], 10 * S)

    assert [e.transition for e in events] == [Transition.UNSHELVE, Transition.RAISE]
    assert events[-1].annunciate and events[-1].state is AlarmState.UNACKNOWLEDGED
    with pytest.raises(ActionRefused, match="cannot be shelved"):
        lc.shelve(FACE, RULE, "op", until_ns=200 * S, now_ns=11 * S)


def test_out_of_service_records_alarms_without_paging_and_returning_re_announces_standing_ones():
    lc = AlarmLifecycle()
    (oos,) = lc.set_out_of_service(FACE, "tech", 1 * S)
    assert oos.transition is Transition.OUT_OF_SERVICE and oos.state is AlarmState.OUT_OF_SERVICE
    (raise_,) = lc.apply([methane(2, 2, 1.8)], 2 * S)
    assert raise_.state is AlarmState.OUT_OF_SERVICE and not raise_.annunciate

    back, renotify = lc.return_to_service(FACE, "tech", 3 * S)

    assert back.transition is Transition.RETURN_TO_SERVICE
    assert renotify.transition is Transition.RENOTIFY and renotify.annunciate and renotify.level == 2


def test_event_ids_are_stable_for_the_same_history_and_unique_within_it():
    def history(lc: AlarmLifecycle) -> list[str]:
        events = lc.apply([methane(1, 1)], 1 * S) + lc.apply([methane(2, 2, 1.6)], 2 * S)
        events += lc.apply([methane(0, 3, 0.9)], 3 * S) + lc.acknowledge(FACE, RULE, "op", 4 * S)
        events += lc.reset(FACE, RULE, "op", 5 * S) + lc.apply([methane(1, 6)], 6 * S)
        return [e.event_id for e in events]

    first, second = history(AlarmLifecycle()), history(AlarmLifecycle())
    assert first == second
    assert len(set(first)) == len(first)


def test_snapshot_and_restore_keep_active_alarms_and_continue_the_event_sequence():
    lc = AlarmLifecycle()
    lc.apply([methane(2, 1, 1.6), methane(1, 1, slot=7)], 1 * S)
    lc.shelve(9, RULE, "op", until_ns=500 * S, now_ns=2 * S)
    lc.set_out_of_service(11, "tech", 3 * S)
    (clear,) = lc.apply([methane(0, 4, 0.9)], 4 * S)

    restored = AlarmLifecycle()
    restored.restore(lc.snapshot())

    assert restored.active() == lc.active()
    assert restored.out_of_service == {11: "tech"}
    events = restored.reset(FACE, RULE, "op", 5 * S) + restored.acknowledge(7, RULE, "op", 5 * S)
    assert [e.state for e in events] == [AlarmState.NORMAL, AlarmState.ACKNOWLEDGED]
    assert events[0].extra["sequence"] == clear.extra["sequence"] + 1
    assert [e.transition for e in restored.tick(500 * S)] == [Transition.UNSHELVE]


def _last_states(events) -> list[dict]:
    """What a worker taking the sensors over reads back from storage: each alarm's state after its last event."""
    last = {(e.slot, e.rule): e.resume for e in events if e.resume is not None}
    return list(last.values())


def test_an_alarm_taken_over_from_its_last_events_state_goes_on_as_in_the_worker_that_held_it():
    held = AlarmLifecycle()
    events = held.apply([methane(2, 1, 1.6), methane(1, 1, slot=7)], 1 * S)
    events += held.acknowledge(FACE, RULE, "op", 2 * S)

    taken = AlarmLifecycle()
    assert taken.adopt(_last_states(events)) == 2
    assert taken.active() == held.active()
    for lc in (held, taken):
        lc.apply([methane(0, 3, 0.9)], 3 * S)
        assert lc.status(FACE, RULE).state is AlarmState.LATCHED
    resets = [lc.reset(FACE, RULE, "op", 4 * S) for lc in (held, taken)]
    assert [e.event_id for e in resets[1]] == [e.event_id for e in resets[0]], "the event sequence goes on"


def test_taking_over_keeps_an_alarm_held_here_and_leaves_out_an_episode_that_was_over():
    old = AlarmLifecycle()
    events = old.apply([methane(1, 1, slot=7), methane(1, 1, slot=9)], 1 * S)
    events += old.acknowledge(9, RULE, "op", 2 * S) + old.apply([methane(0, 3, 0.9, slot=9)], 3 * S)
    here = AlarmLifecycle()
    here.apply([methane(2, 5, 1.6, slot=7)], 5 * S)

    assert here.adopt(_last_states(events)) == 0
    assert [(a.slot, a.level) for a in here.active()] == [(7, 2)]


def test_alarms_of_slots_owned_elsewhere_now_are_let_go_without_an_event():
    lc = AlarmLifecycle()
    lc.apply([methane(1, 1, slot=1), methane(1, 1, slot=2)], 1 * S)
    lc.set_out_of_service(2, "tech", 1 * S)
    owned = np.array([False, True, False])

    assert lc.release(owned) == 1
    assert [a.slot for a in lc.active()] == [1]
    assert lc.out_of_service == {}
    assert lc.tick(2 * S) == []


def test_an_out_of_service_mark_moves_with_its_sensor_and_a_return_to_service_does_not():
    held = AlarmLifecycle()
    events = held.set_out_of_service(4, "tech", 1 * S) + held.set_out_of_service(5, "tech", 1 * S)
    events += held.return_to_service(5, "tech", 2 * S)

    taken = AlarmLifecycle()
    assert taken.adopt(_last_states(events)) == 1
    assert taken.out_of_service == {4: "tech"}
    assert taken.return_to_service(4, "tech", 3 * S)[0].event_id == held.return_to_service(4, "tech", 3 * S)[0].event_id
