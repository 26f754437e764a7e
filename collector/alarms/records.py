"""Handling records: each alarm episode's start, peak, end, and every answer (who, when, what was done).

An EventSink, so detected events, operator actions and answers to response links all land in the
same record through the one path events already take. This is the handling record (处置记录) a
safety inspector asks for; the API serves it at `GET /records`.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence

from collector.alarms.store import AlarmStore
from collector.telemetry.logs import RateLimitedLog
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent, Transition

log = logging.getLogger("hazwatch.alarm_records")
VIA_LINK = "response link"


class HandlingRecorder:
    def __init__(self, store: AlarmStore, registry: SensorRegistry) -> None:
        self.store = store
        self.registry = registry
        self._problems = RateLimitedLog(log)

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        wanted = [e for e in events if e.category != "system" and 0 <= e.slot < len(self.registry.sensors)]
        if not wanted:
            return
        try:
            with self.store.transaction():
                for event in wanted:
                    self._record(event)
        except sqlite3.Error as exc:
            # The record is evidence, not the alarm: a disk problem is logged loudly and never blocks paging.
            self._problems.error("records", "cannot write the handling record of %d events: %s", len(wanted), exc)

    def _record(self, event: AlarmEvent) -> None:
        info = self.registry.sensors[event.slot]
        key = (info.site, info.sensor, event.rule)
        value = float(event.value) if math.isfinite(event.value) else None
        user = str(event.extra.get("user") or "")
        if event.transition is Transition.RAISE:
            if not self.store.extend_open_record(*key, event.level, event.level_name, value):
                self.store.open_record(
                    *key, event.time_ns, event.level, event.level_name, value, info.unit, event.event_id
                )
        elif event.transition is Transition.ESCALATE:
            self.store.update_peak(*key, event.level, event.level_name, value)
        elif event.transition in (Transition.CLEAR, Transition.RESET):
            self.store.close_record(*key, event.time_ns)
        elif event.transition is Transition.ACK and event.extra.get("via") != VIA_LINK:
            self.store.add_record_response(*key, event.time_ns, user, "ack", "", "api")
        elif event.transition is Transition.RESPOND:
            response = dict(event.extra.get("response") or {})
            self.store.add_record_response(
                *key,
                event.time_ns,
                user,
                str(response.get("answer", "")),
                str(response.get("measures", "")),
                str(response.get("via", VIA_LINK)),
            )

    async def run(self) -> None:
        """Writes happen in submit_events (local SQLite, milliseconds); nothing runs in the background."""

    async def close(self) -> None:
        """The store is closed by its owner."""
