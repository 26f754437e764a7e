"""Invariants of the alarm lifecycle under random condition sequences and operator actions (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import ActionRefused, AlarmLifecycle
from hazwatch.events import AlarmEvent, AlarmState, Transition

S = 1_000_000_000
RULES = ("threshold.high", "health.offline")
SLOTS = (0, 1)
CHATTER_COUNT, CHATTER_WINDOW_S = 3, 60

change = st.tuples(st.just("change"), st.sampled_from(SLOTS), st.sampled_from(RULES), st.integers(0, 2), st.booleans())
action = st.tuples(
    st.sampled_from(["ack", "reset", "shelve", "unshelve", "tick"]), st.sampled_from(SLOTS), st.sampled_from(RULES)
)
step = st.tuples(st.floats(0, 40), st.one_of(change, change, action))
one_alarm_flipping = st.tuples(
    st.floats(0, 20), st.tuples(st.just("change"), st.just(0), st.just(RULES[0]), st.integers(0, 2), st.booleans())
)


def new_lifecycle() -> AlarmLifecycle:
    return AlarmLifecycle(chatter_count=CHATTER_COUNT, chatter_window_s=CHATTER_WINDOW_S)


def run(steps, lc: AlarmLifecycle | None = None, t: float = 0.0) -> tuple[AlarmLifecycle, list[AlarmEvent], list[str]]:
    """Feed the steps; returns the lifecycle, every event, and invariant violations seen along the way."""
    lc = lc or new_lifecycle()
    events: list[AlarmEvent] = []
    problems: list[str] = []
    latched_at: dict[tuple[int, str], int] = {}
    for dt, (kind, slot, rule, *rest) in steps:
        t += dt
        now = int(t * S)
        key = (slot, rule)
        status = lc.status(slot, rule)
        try:
            if kind == "change":
                level, latch = rest
                latch = latch and level > 0
                events += lc.apply(
                    [ConditionChange(slot, rule, "process", level, f"l{level}", "high", 1.0, 1.0, now, "", latch)], now
                )
                if latch:
                    latched_at[key] = max(latched_at.get(key, 0), level)
            elif kind == "ack":
                events += lc.acknowledge(slot, rule, "op", now)
                if status is not None and status.acknowledged:
                    problems.append(f"acknowledge of an acknowledged alarm {key} accepted")
            elif kind == "reset":
                events += lc.reset(slot, rule, "op", now)
                latched_at.pop(key, None)
            elif kind == "shelve":
                events += lc.shelve(slot, rule, "op", now + 90 * S, now)
            elif kind == "unshelve":
                events += lc.unshelve(slot, rule, "op", now)
            else:
                events += lc.tick(now)
        except ActionRefused:
            pass
        for k, level in latched_at.items():
            held = lc.status(*k)
            if held is None or not held.latched or held.level < level:
                problems.append(f"latched {k} at level {level} released without a reset: {held}")
    return lc, events, problems


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=60))
def test_latched_alarms_stay_until_reset_and_acknowledge_is_never_accepted_twice(steps):
    _, _, problems = run(steps)
    assert problems == []


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=60))
def test_no_clear_without_a_raise_neither_recorded_nor_sent(steps):
    _, events, _ = run(steps)
    condition = defaultdict(bool)
    told = defaultdict(bool)
    for e in events:
        key = (e.slot, e.rule)
        if e.transition is Transition.RAISE:
            assert not condition[key], f"raise of an already active condition: {e}"
            condition[key] = True
        elif e.transition in (Transition.CLEAR, Transition.ESCALATE, Transition.DEESCALATE):
            assert condition[key], f"{e.transition} without a raise: {e}"
            condition[key] = e.transition is not Transition.CLEAR
        if e.annunciate and (e.transition in (Transition.RAISE, Transition.ESCALATE, Transition.RENOTIFY) or (
            e.transition is Transition.UNSHELVE and e.level > 0
        )):  # fmt: skip
            told[key] = True
        if e.annunciate and e.transition is Transition.CLEAR:
            assert told[key], f"a receiver would get a clear for a raise it never got: {e}"
        if e.state is AlarmState.NORMAL:
            told[key] = False


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=60))
def test_no_double_acknowledge_in_the_event_stream(steps):
    _, events, _ = run(steps)
    needs_ack = defaultdict(bool)
    for e in events:
        key = (e.slot, e.rule)
        if e.transition in (Transition.RAISE, Transition.ESCALATE):
            needs_ack[key] = True
        elif e.transition is Transition.ACK:
            assert needs_ack[key], f"acknowledged twice: {e}"
            needs_ack[key] = False
        elif e.transition is Transition.RESET:
            needs_ack[key] = False


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(one_alarm_flipping, st.tuples(st.floats(0, 20), change)), min_size=1, max_size=120))
def test_chattering_input_pages_at_most_twice_a_minute_per_alarm_below_power_cut(steps):
    """However fast a condition flips, fewer than `chatter_count` low-level activations page within the window."""
    _, events, _ = run(steps)
    paged = defaultdict(list)
    for e in events:
        if e.transition is Transition.RAISE and e.annunciate and e.level < 2:
            paged[(e.slot, e.rule)].append(e.time_ns)
    for times in paged.values():
        for first, third in zip(times, times[CHATTER_COUNT - 1 :], strict=False):
            assert third - first >= CHATTER_WINDOW_S * S


@settings(max_examples=200, deadline=None)
@given(st.lists(step, max_size=60))
def test_event_ids_are_unique_and_reproducible(steps):
    _, first, _ = run(steps)
    _, second, _ = run(steps)
    ids = [e.event_id for e in first]
    assert ids == [e.event_id for e in second]
    assert len(set(ids)) == len(ids)


@settings(max_examples=200, deadline=None)
@given(st.lists(step, max_size=40), st.lists(step, max_size=20))
def test_a_restored_lifecycle_behaves_like_the_one_that_kept_running(before, after):
    kept, _, _ = run(before)
    restored = new_lifecycle()
    restored.restore(kept.snapshot())
    assert restored.active() == kept.active()

    t = sum(dt for dt, _ in before)
    _, kept_events, _ = run(after, kept, t)
    _, restored_events, _ = run(after, restored, t)
    assert [e.event_id for e in restored_events] == [e.event_id for e in kept_events]
    assert restored.active() == kept.active()
