"""The ISA-18.2 alarm lifecycle: turns rule detectors' ConditionChanges and operators' actions into AlarmEvents.

Rule detectors only say "this sensor is at level N for rule R now". Whether that is a new alarm,
an escalation, a clear an operator still has to acknowledge, a latched power-cut that waits for a
reset, or a chattering alarm that must not page anyone again, is decided here, once, for every
rule. State is kept per (slot, rule) only while an alarm is not normal, so memory follows the
number of active alarms, not the number of sensors.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from detectors.alarms.conditions import ConditionChange
from hazwatch.events import AlarmEvent, AlarmState, Transition

Key = tuple[int, str]

SERVICE_RULE = "service"
"""Rule name of out-of-service / return-to-service events, which concern a whole sensor."""
SYSTEM_USER = "system"
"""The user recorded for actions hazwatch takes itself (shelve expiry, safety unshelve)."""
SNAPSHOT_VERSION = 1


class ActionRefused(ValueError):
    """An operator action that does not fit the alarm's state (the API answers 409 with the reason)."""


@dataclass
class _Alarm:
    slot: int
    rule: str
    category: str
    condition_level: int = 0
    condition_name: str = "normal"
    condition_priority: str = "low"
    condition_limit: float = math.nan
    latched_level: int = 0
    latched_name: str = ""
    latched_priority: str = "low"
    latched_limit: float = math.nan
    value: float = math.nan
    message: str = ""
    acked: bool = True
    shelved_until_ns: int | None = None
    announced: bool = False
    """Receivers were told this episode is active, so its clear and ack must reach them too."""
    chattering: bool = False
    peak_level: int = 0
    raised_ns: int = 0
    changed_ns: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def level(self) -> int:
        return max(self.condition_level, self.latched_level)

    @property
    def shows_latched(self) -> bool:
        return self.latched_level > self.condition_level

    @property
    def level_name(self) -> str:
        if self.level == 0:
            return "normal"
        return self.latched_name if self.shows_latched else self.condition_name

    @property
    def priority(self) -> str:
        return self.latched_priority if self.shows_latched else self.condition_priority

    @property
    def limit(self) -> float:
        return self.latched_limit if self.shows_latched else self.condition_limit


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """One row of the active-alarm list an operator sees."""

    slot: int
    rule: str
    category: str
    state: AlarmState
    level: int
    level_name: str
    priority: str
    value: float
    limit: float
    message: str
    raised_ns: int
    changed_ns: int
    acknowledged: bool
    latched: bool
    chattering: bool
    shelved_until_ns: int | None
    peak_level: int = 0
    """The highest level this episode reached."""


def event_id_for(slot: int, rule: str, transition: Transition, time_ns: int, sequence: int) -> str:
    """Same transition, same id: receivers de-duplicate re-sent events on it, and a replay gives the same ids."""
    text = f"{slot}|{rule}|{transition.value}|{time_ns}|{sequence}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class AlarmLifecycle:
    """Per (slot, rule) ISA-18.2 state machine.

    `chatter_count` activations within `chatter_window_s` make an alarm chattering: its further
    raises are recorded but not annunciated (ISA-18.2 chattering control), except raises and
    escalations at `never_suppress_level` or above (power-cut, level 2), which always page, and
    which also cannot be shelved.
    """

    def __init__(
        self,
        chatter_count: int = 3,
        chatter_window_s: float = 60.0,
        never_suppress_level: int = 2,
    ) -> None:
        self.chatter_count = chatter_count
        self.chatter_window_ns = int(chatter_window_s * 1e9)
        self.never_suppress_level = never_suppress_level
        self._alarms: dict[Key, _Alarm] = {}
        self._out_of_service: dict[int, str] = {}
        self._sequence: dict[Key, int] = {}
        self._activations: dict[Key, list[int]] = {}
        """Recent activation times per alarm, oldest first: a few entries, so a list (a deque is ~600 B)."""
        self._now_ns = 0

    # ---- detector input -------------------------------------------------------------------

    def apply(self, changes: Iterable[ConditionChange], now_ns: int) -> list[AlarmEvent]:
        events: list[AlarmEvent] = []
        for change in sorted(changes, key=lambda c: c.time_ns):
            events.extend(self._apply_one(change))
        self._now_ns = max(self._now_ns, now_ns)
        return events

    def _apply_one(self, change: ConditionChange) -> list[AlarmEvent]:
        key = (change.slot, change.rule)
        self._now_ns = max(self._now_ns, change.time_ns)
        alarm = self._alarms.get(key)
        if alarm is None:
            if change.level <= 0:
                return []
            alarm = _Alarm(change.slot, change.rule, change.category)
            self._alarms[key] = alarm
        old_level, old_condition = alarm.level, alarm.condition_level
        level = max(change.level, 0)
        alarm.condition_level = level
        alarm.value = change.value
        alarm.message = change.message
        alarm.extra = dict(change.extra)
        alarm.changed_ns = change.time_ns
        if level > 0:
            alarm.condition_name = change.level_name
            alarm.condition_priority = change.priority
            alarm.condition_limit = change.limit
            if change.latch and level >= alarm.latched_level:
                alarm.latched_level = level
                alarm.latched_name = change.level_name
                alarm.latched_priority = change.priority
                alarm.latched_limit = change.limit

        transition = _transition(old_level, alarm.level, old_condition, level)
        if transition is None:
            self._forget_if_normal(alarm)
            return []
        events: list[AlarmEvent] = []
        if transition in (Transition.RAISE, Transition.ESCALATE):
            if transition is Transition.RAISE and old_level == 0:
                alarm.raised_ns = change.time_ns
                alarm.peak_level = 0
            alarm.peak_level = max(alarm.peak_level, alarm.level)
            alarm.acked = False
            if transition is Transition.RAISE:
                alarm.chattering = self._count_activation(key, change.time_ns) >= self.chatter_count
            critical = alarm.level >= self.never_suppress_level
            if critical and alarm.shelved_until_ns is not None:
                events.append(self._unshelve(alarm, SYSTEM_USER, change.time_ns, "level too high to stay shelved"))
            annunciate = self._pageable(alarm) and (critical or not alarm.chattering)
            alarm.announced = alarm.announced or annunciate
        else:
            annunciate = self._pageable(alarm) and alarm.announced
        events.append(self._event(alarm, transition, change.time_ns, annunciate=annunciate))
        self._forget_if_normal(alarm)
        return events

    # ---- time -----------------------------------------------------------------------------

    def tick(self, now_ns: int) -> list[AlarmEvent]:
        """Shelving expiry and the end of chattering, which happen with no new condition change."""
        self._now_ns = max(self._now_ns, now_ns)
        events: list[AlarmEvent] = []
        for alarm in list(self._alarms.values()):
            if alarm.shelved_until_ns is not None and alarm.shelved_until_ns <= now_ns:
                events.append(self._unshelve(alarm, SYSTEM_USER, now_ns, "shelving expired"))
                self._forget_if_normal(alarm)
        for key in list(self._activations):
            times = self._activations[key]
            _prune(times, now_ns - self.chatter_window_ns)
            if not times:
                del self._activations[key]
        for alarm in list(self._alarms.values()):
            if not alarm.chattering:
                continue
            if len(self._activations.get((alarm.slot, alarm.rule), ())) >= self.chatter_count:
                continue
            alarm.chattering = False
            if alarm.level > 0 and not alarm.acked and not alarm.announced and self._pageable(alarm):
                alarm.announced = True
                events.append(self._event(alarm, Transition.RENOTIFY, now_ns, reason="chattering ended"))
        return events

    # ---- operator actions -----------------------------------------------------------------

    def acknowledge(self, slot: int, rule: str, user: str, now_ns: int) -> list[AlarmEvent]:
        alarm = self._require(slot, rule)
        if alarm.acked:
            raise ActionRefused(f"{rule} on slot {slot} is already acknowledged")
        alarm.acked = True
        event = self._event(
            alarm, Transition.ACK, self._time(now_ns), user=user, annunciate=alarm.announced and self._pageable(alarm)
        )
        self._forget_if_normal(alarm)
        return [event]

    def shelve(self, slot: int, rule: str, user: str, until_ns: int, now_ns: int | None = None) -> list[AlarmEvent]:
        """Shelve for a limited time; a rule need not be active to be shelved (a known nuisance)."""
        time_ns = self._time(now_ns)
        if until_ns <= time_ns:
            raise ActionRefused("shelving must end in the future")
        if slot in self._out_of_service:
            raise ActionRefused(f"slot {slot} is out of service")
        alarm = self._alarms.get((slot, rule))
        if alarm is None:
            alarm = self._alarms[(slot, rule)] = _Alarm(slot, rule, "process")
        if alarm.level >= self.never_suppress_level:
            raise ActionRefused(f"a level {alarm.level} ({alarm.level_name}) alarm cannot be shelved")
        alarm.shelved_until_ns = until_ns
        return [self._event(alarm, Transition.SHELVE, time_ns, user=user, shelved_until_ns=until_ns)]

    def unshelve(self, slot: int, rule: str, user: str, now_ns: int | None = None) -> list[AlarmEvent]:
        alarm = self._alarms.get((slot, rule))
        if alarm is None or alarm.shelved_until_ns is None:
            raise ActionRefused(f"{rule} on slot {slot} is not shelved")
        event = self._unshelve(alarm, user, self._time(now_ns), "unshelved by operator")
        self._forget_if_normal(alarm)
        return [event]

    def reset(self, slot: int, rule: str, user: str, now_ns: int | None = None) -> list[AlarmEvent]:
        """Release a latched alarm once its condition has fallen below the latched level; resetting acknowledges."""
        alarm = self._require(slot, rule)
        if alarm.latched_level == 0:
            raise ActionRefused(f"{rule} on slot {slot} is not latched")
        if alarm.condition_level >= alarm.latched_level:
            raise ActionRefused(
                f"{rule} on slot {slot} is still at {alarm.condition_name}: reset once it has fallen below"
            )
        alarm.latched_level = 0
        alarm.acked = True
        event = self._event(
            alarm, Transition.RESET, self._time(now_ns), user=user, annunciate=alarm.announced and self._pageable(alarm)
        )
        self._forget_if_normal(alarm)
        return [event]

    def set_out_of_service(self, slot: int, user: str, now_ns: int | None = None) -> list[AlarmEvent]:
        """Maintenance or calibration: the sensor's alarms are still tracked and recorded but page nobody."""
        if slot in self._out_of_service:
            raise ActionRefused(f"slot {slot} is already out of service")
        self._out_of_service[slot] = user
        return [self._service_event(slot, Transition.OUT_OF_SERVICE, self._time(now_ns), user)]

    def return_to_service(self, slot: int, user: str, now_ns: int | None = None) -> list[AlarmEvent]:
        """Back in service: alarms still standing unacknowledged are re-announced, as nobody was paged for them."""
        if slot not in self._out_of_service:
            raise ActionRefused(f"slot {slot} is not out of service")
        del self._out_of_service[slot]
        time_ns = self._time(now_ns)
        events = [self._service_event(slot, Transition.RETURN_TO_SERVICE, time_ns, user)]
        for alarm in self._alarms.values():
            if alarm.slot == slot and alarm.level > 0 and not alarm.acked and self._pageable(alarm):
                alarm.announced = True
                events.append(self._event(alarm, Transition.RENOTIFY, time_ns, reason="returned to service"))
        return events

    # ---- views and persistence ------------------------------------------------------------

    def active(self) -> list[AlarmStatus]:
        """Every alarm that is not normal (incl. unacknowledged returns, latched and shelved ones), newest first."""
        rows = [
            AlarmStatus(
                slot=a.slot,
                rule=a.rule,
                category=a.category,
                state=self._state(a),
                level=a.level,
                level_name=a.level_name,
                priority=a.priority,
                value=a.value,
                limit=a.limit,
                message=a.message,
                raised_ns=a.raised_ns,
                changed_ns=a.changed_ns,
                acknowledged=a.acked,
                latched=a.latched_level > 0,
                chattering=a.chattering,
                shelved_until_ns=a.shelved_until_ns,
                peak_level=a.peak_level,
            )
            for a in self._alarms.values()
        ]
        return sorted(rows, key=lambda r: (-r.level, -r.changed_ns))

    def conditions(self) -> dict[Key, tuple[int, str, int]]:
        """(slot, rule) -> (condition level, category, when the detectors last reported it) of every alarm whose
        condition is active: after a restart, these are what the first readings must confirm."""
        return {
            key: (a.condition_level, a.category, a.changed_ns) for key, a in self._alarms.items() if a.condition_level
        }

    def status(self, slot: int, rule: str) -> AlarmStatus | None:
        return next((r for r in self.active() if r.slot == slot and r.rule == rule), None)

    @property
    def out_of_service(self) -> dict[int, str]:
        """Slot -> who put it out of service."""
        return dict(self._out_of_service)

    def snapshot(self) -> dict[str, object]:
        """JSON-safe state, so active alarms, latches, shelving and event sequence numbers survive a restart."""
        alarms = [_state_row(alarm) for alarm in self._alarms.values()]
        return {
            "version": SNAPSHOT_VERSION,
            "now_ns": self._now_ns,
            "alarms": alarms,
            "out_of_service": [[slot, user] for slot, user in self._out_of_service.items()],
            "sequence": [[slot, rule, n] for (slot, rule), n in self._sequence.items()],
            "activations": [[slot, rule, list(times)] for (slot, rule), times in self._activations.items()],
        }

    def adopt(self, rows: Iterable[Mapping[str, object]]) -> int:
        """Take over alarms and out-of-service marks another worker held, from the state stored with each one's
        last event (`AlarmEvent.resume`, slots already mapped to this registry). What is held here already is kept
        as it is; an alarm whose episode was over is not taken. Returns how many were taken over."""
        taken = 0
        for row in rows:
            key = (int(row["slot"]), str(row["rule"]))
            if key[1] == SERVICE_RULE:
                user = row.get("out_of_service")
                if user is None or key[0] in self._out_of_service:
                    continue
                self._out_of_service[key[0]] = str(user)
            else:
                alarm = _Alarm(**{name: row[name] for name in _ALARM_FIELDS if name in row})
                if key in self._alarms or (alarm.level == 0 and alarm.acked):
                    continue
                self._alarms[key] = alarm
            self._sequence[key] = max(self._sequence.get(key, 0), int(row.get("sequence", 0)))
            taken += 1
        return taken

    def release(self, owned: np.ndarray) -> int:
        """Let go of the alarms and out-of-service marks on slots this worker no longer owns (a change of
        partitions moved them): their new owner resumes them from storage (`adopt`). No event: the alarm is not
        over, it only moved. Returns how many alarms were let go."""
        def elsewhere(slot: int) -> bool:
            return not (0 <= slot < len(owned) and owned[slot])

        gone = [key for key in self._alarms if elsewhere(key[0])]
        for key in gone:
            del self._alarms[key]
            self._activations.pop(key, None)
        for slot in [slot for slot in self._out_of_service if elsewhere(slot)]:
            del self._out_of_service[slot]
        for key in [key for key in self._sequence if elsewhere(key[0])]:
            del self._sequence[key]
        return len(gone)

    def restore(self, snapshot: dict) -> None:
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unknown alarm snapshot version {snapshot.get('version')!r}")
        self._now_ns = int(snapshot["now_ns"])
        self._alarms = {}
        for row in snapshot["alarms"]:
            alarm = _Alarm(**row)
            self._alarms[(alarm.slot, alarm.rule)] = alarm
        self._out_of_service = {int(slot): user for slot, user in snapshot["out_of_service"]}
        self._sequence = {(int(slot), rule): int(n) for slot, rule, n in snapshot["sequence"]}
        self._activations = {
            (int(slot), rule): [int(t) for t in times] for slot, rule, times in snapshot["activations"]
        }

    # ---- internals ------------------------------------------------------------------------

    def _time(self, now_ns: int | None) -> int:
        if now_ns is not None:
            self._now_ns = max(self._now_ns, now_ns)
            return now_ns
        return self._now_ns

    def _require(self, slot: int, rule: str) -> _Alarm:
        alarm = self._alarms.get((slot, rule))
        if alarm is None or (alarm.level == 0 and alarm.acked):
            raise ActionRefused(f"no active alarm {rule} on slot {slot}")
        return alarm

    def _pageable(self, alarm: _Alarm) -> bool:
        return alarm.slot not in self._out_of_service and alarm.shelved_until_ns is None

    def _count_activation(self, key: Key, time_ns: int) -> int:
        times = self._activations.setdefault(key, [])
        times.append(time_ns)
        _prune(times, time_ns - self.chatter_window_ns)
        return len(times)

    def _unshelve(self, alarm: _Alarm, user: str, time_ns: int, reason: str) -> AlarmEvent:
        alarm.shelved_until_ns = None
        standing = alarm.level > 0 and not alarm.acked
        alarm.announced = alarm.announced or (standing and self._pageable(alarm))
        return self._event(alarm, Transition.UNSHELVE, time_ns, user=user, reason=reason)

    def _forget_if_normal(self, alarm: _Alarm) -> None:
        if alarm.level == 0 and alarm.acked and alarm.shelved_until_ns is None:
            self._alarms.pop((alarm.slot, alarm.rule), None)

    def _state(self, alarm: _Alarm) -> AlarmState:
        if alarm.slot in self._out_of_service:
            return AlarmState.OUT_OF_SERVICE
        if alarm.shelved_until_ns is not None:
            return AlarmState.SHELVED
        if alarm.latched_level > 0 and alarm.condition_level == 0:
            return AlarmState.LATCHED
        if alarm.level > 0:
            return AlarmState.ACKNOWLEDGED if alarm.acked else AlarmState.UNACKNOWLEDGED
        return AlarmState.NORMAL if alarm.acked else AlarmState.RTN_UNACKNOWLEDGED

    def _next_sequence(self, key: Key) -> int:
        n = self._sequence.get(key, 0) + 1
        self._sequence[key] = n
        return n

    def _event(
        self,
        alarm: _Alarm,
        transition: Transition,
        time_ns: int,
        user: str | None = None,
        annunciate: bool = True,
        **details: object,
    ) -> AlarmEvent:
        key = (alarm.slot, alarm.rule)
        sequence = self._next_sequence(key)
        extra: dict[str, object] = {
            **alarm.extra,
            "sequence": sequence,
            "peak_level": alarm.peak_level,
            "condition_level": alarm.condition_level,
            "chattering": alarm.chattering,
            **details,
        }
        if user is not None:
            extra["user"] = user
        resume = {**_state_row(alarm), "sequence": sequence}
        return AlarmEvent(
            event_id=event_id_for(alarm.slot, alarm.rule, transition, time_ns, sequence),
            slot=alarm.slot,
            rule=alarm.rule,
            category=alarm.category,
            transition=transition,
            state=self._state(alarm),
            level=alarm.level,
            level_name=alarm.level_name,
            priority=alarm.priority,
            value=alarm.value,
            limit=alarm.limit,
            time_ns=time_ns,
            message=alarm.message,
            extra=extra,
            annunciate=annunciate,
            resume=resume,
        )

    def _service_event(self, slot: int, transition: Transition, time_ns: int, user: str) -> AlarmEvent:
        sequence = self._next_sequence((slot, SERVICE_RULE))
        out = transition is Transition.OUT_OF_SERVICE
        return AlarmEvent(
            event_id=event_id_for(slot, SERVICE_RULE, transition, time_ns, sequence),
            slot=slot,
            rule=SERVICE_RULE,
            category="system",
            transition=transition,
            state=AlarmState.OUT_OF_SERVICE if out else AlarmState.NORMAL,
            level=0,
            level_name="out_of_service" if out else "normal",
            priority="low",
            value=math.nan,
            limit=math.nan,
            time_ns=time_ns,
            message="sensor taken out of service" if out else "sensor returned to service",
            extra={"sequence": sequence, "user": user},
            resume={"slot": slot, "rule": SERVICE_RULE, "out_of_service": user if out else None, "sequence": sequence},
        )


_ALARM_FIELDS = tuple(f.name for f in fields(_Alarm) if f.name != "extra")
"""What an alarm's state is made of: `extra` is the detector's detail of the last change, not state."""


def _state_row(alarm: _Alarm) -> dict[str, object]:
    """The alarm's state as JSON-safe values: a snapshot's row, and what each event carries (`resume`)."""
    return {name: getattr(alarm, name) for name in _ALARM_FIELDS}


def _transition(old_level: int, new_level: int, old_condition: int, new_condition: int) -> Transition | None:
    """The verb for a change of the condition and of the alarm's shown level (which a latch holds up).

    The condition appearing or going wins over level changes, so a receiver always sees a raise
    before anything else of an episode, and a clear when the reading is back, latched or not.
    """
    if old_condition == 0 and new_condition > 0:
        return Transition.RAISE
    if old_condition > 0 and new_condition == 0:
        return Transition.CLEAR
    if new_level > old_level:
        return Transition.ESCALATE
    if new_level < old_level:
        return Transition.DEESCALATE
    return None


def _prune(times: list[int], older_than_ns: int) -> None:
    stale = 0
    while stale < len(times) and times[stale] <= older_than_ns:
        stale += 1
    del times[:stale]
