"""Alarm events: the rare state changes that leave the vectorised hot path as Python objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AlarmState(StrEnum):
    """ISA-18.2 alarm states (plus the transitions the webhook schema reports)."""

    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RTN_UNACKNOWLEDGED = "rtn_unacknowledged"
    LATCHED = "latched"
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out_of_service"


class Transition(StrEnum):
    """What happened: the verb of an alarm event."""

    RAISE = "raise"
    ESCALATE = "escalate"
    DEESCALATE = "deescalate"
    CLEAR = "clear"
    ACK = "ack"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"
    RESET = "reset"
    OUT_OF_SERVICE = "out_of_service"
    RETURN_TO_SERVICE = "return_to_service"
    RENOTIFY = "renotify"
    RESPOND = "respond"
    """Someone answered a page (acknowledged it, or reported it handled and what was done)."""


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One alarm transition for one sensor and rule.

    `event_id` is stable for the transition (the idempotency key receivers de-duplicate on);
    `level` is 0 for normal, 1 for the first level (alarm/warning), 2 for the second
    (power-cut/trip), and so on; `category` separates process alarms from sensor-health alarms.
    """

    event_id: str
    slot: int
    rule: str
    category: str
    transition: Transition
    state: AlarmState
    level: int
    level_name: str
    priority: str
    value: float
    limit: float
    time_ns: int
    message: str
    extra: dict[str, object] = field(default_factory=dict)
    annunciate: bool = True
    """False while ISA-18.2 suppression applies (shelved, out of service, chattering): the event is
    recorded and stored, but operators and bureaus are not paged for it."""
    resume: dict[str, object] | None = None
    """The alarm's whole lifecycle state after this event (JSON-safe), stored with it: a worker that takes the
    sensor over after a change of partitions resumes the alarm from it instead of raising it again with a new id."""
