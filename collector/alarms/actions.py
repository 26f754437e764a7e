"""Operator actions on alarms and sensors, the one way: apply to the lifecycle, audit, dispatch, persist.

The bearer-token API and the browser console both act through this class, so an acknowledgement from a
script and one from the control-room screen leave the same audit record and the same events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from collector.alarms.store import AlarmStatePersister, AlarmStore
from detectors.alarms.lifecycle import ActionRefused, AlarmLifecycle
from hazwatch.config import SensorInfo, SensorRegistry
from hazwatch.events import AlarmEvent

ALARM_ACTIONS = ("ack", "shelve", "unshelve", "reset")
SENSOR_ACTIONS = ("out_of_service", "return_to_service")
DEFAULT_SHELVE_MINUTES = 60.0
MAX_SHELVE_MINUTES = 24 * 60.0
MAX_USER_CHARS = 128
MAX_COMMENT_CHARS = 2000


class UnknownTarget(LookupError):
    """No such sensor, or no such action."""


class BadRequest(ValueError):
    """The request itself is wrong (missing user, shelving without a time limit)."""


@dataclass(frozen=True)
class ActionDone:
    audit_id: int
    events: list[AlarmEvent]


class AlarmActions:
    def __init__(
        self,
        lifecycle: AlarmLifecycle,
        registry: SensorRegistry,
        store: AlarmStore,
        dispatch: Callable[[list[AlarmEvent]], None],
        persister: AlarmStatePersister | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.lifecycle = lifecycle
        self.registry = registry
        self.store = store
        self.dispatch = dispatch
        self.persister = persister
        self.clock = clock

    def sensor(self, site: str, sensor: str) -> SensorInfo:
        slot = self.registry.slot(site, sensor)
        if slot is None:
            raise UnknownTarget(f"no sensor {sensor} at site {site}")
        return self.registry.sensors[slot]

    def on_alarm(self, site: str, sensor: str, rule: str, action: str, user: str, params: Mapping) -> ActionDone:
        """ack / shelve (params `minutes`) / unshelve / reset one alarm; refused actions are audited too."""
        info = self.sensor(site, sensor)
        if action not in ALARM_ACTIONS:
            raise UnknownTarget(f"action must be one of {', '.join(ALARM_ACTIONS)}")
        user = _who(user)
        now = self.clock()
        detail = _detail(params, ("comment", "minutes"))
        try:
            events = self._apply(action, info.slot, rule, user, now, params)
        except ActionRefused as exc:
            self.store.record_action(user, action, info.site, info.sensor, rule, f"refused: {exc}", detail, time_ns=now)
            raise
        entry = self.store.record_action(user, action, info.site, info.sensor, rule, "done", detail, events, now)
        self._finish(events)
        return ActionDone(entry.id, events)

    def on_sensor(self, site: str, sensor: str, action: str, user: str, params: Mapping) -> ActionDone:
        """out_of_service / return_to_service for every rule of one sensor."""
        info = self.sensor(site, sensor)
        if action not in SENSOR_ACTIONS:
            raise UnknownTarget(f"action must be one of {', '.join(SENSOR_ACTIONS)}")
        user = _who(user)
        now = self.clock()
        detail = _detail(params, ("comment",))
        change = self.lifecycle.set_out_of_service if action == "out_of_service" else self.lifecycle.return_to_service
        try:
            events = change(info.slot, user, now)
        except ActionRefused as exc:
            self.store.record_action(user, action, info.site, info.sensor, "*", f"refused: {exc}", detail, time_ns=now)
            raise
        entry = self.store.record_action(user, action, info.site, info.sensor, "*", "done", detail, events, now)
        self._finish(events)
        return ActionDone(entry.id, events)

    def _apply(self, action: str, slot: int, rule: str, user: str, now: int, params: Mapping) -> list[AlarmEvent]:
        lc = self.lifecycle
        if action == "ack":
            return lc.acknowledge(slot, rule, user, now)
        if action == "shelve":
            try:
                minutes = float(params.get("minutes", DEFAULT_SHELVE_MINUTES))
            except (TypeError, ValueError):
                raise BadRequest("minutes must be a number") from None
            if not 0 < minutes <= MAX_SHELVE_MINUTES:
                raise BadRequest(f"minutes must be in (0, {MAX_SHELVE_MINUTES:g}]: shelving is time-limited")
            return lc.shelve(slot, rule, user, now + int(minutes * 60e9), now)
        if action == "unshelve":
            return lc.unshelve(slot, rule, user, now)
        return lc.reset(slot, rule, user, now)

    def _finish(self, events: list[AlarmEvent]) -> None:
        self.dispatch(events)
        if self.persister is not None:
            self.persister.save_now()


def _who(user: str) -> str:
    """Who acts, as the audit trail records it: bounded, one line (no forged audit lines)."""
    user = str(user or "").strip()
    if not user:
        raise BadRequest("say who you are: body field `user`")
    if len(user) > MAX_USER_CHARS or not user.isprintable():
        raise BadRequest(f"user must be printable text of at most {MAX_USER_CHARS} characters")
    return user


def _detail(params: Mapping, keys: tuple[str, ...]) -> dict[str, object]:
    """What the audit trail records of the request; a comment longer than the limit is refused, not cut."""
    comment = params.get("comment")
    if comment is not None and len(str(comment)) > MAX_COMMENT_CHARS:
        raise BadRequest(f"comment must be at most {MAX_COMMENT_CHARS} characters")
    return {k: params[k] for k in keys if k in params}
