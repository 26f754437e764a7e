"""Alarm events to the log: one key=value line each."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from collector.notify.payload import PayloadBuilder
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent

log = logging.getLogger("hazwatch.alarms")


class LogEventSink:
    """The alarm record of last resort: even with every receiver down, the log has every transition."""

    def __init__(self, registry: SensorRegistry) -> None:
        self.builder = PayloadBuilder(registry)

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        for event in events:
            p = self.builder.build(event)
            level = logging.WARNING if event.level > 0 else logging.INFO
            log.log(
                level,
                "alarm event_id=%s site=%s area=%s sensor=%s rule=%s transition=%s state=%s level=%s "
                "level_name=%s priority=%s value=%s limit=%s unit=%s time=%s annunciate=%s user=%s message=%r",
                p["event_id"], p["site"], p["area"], p["sensor"], p["rule"], p["transition"], p["state"],
                p["level"], p["level_name"], p["priority"], p["value"], p["limit"], p["unit"], p["time"],
                event.annunciate, p["user"] or "-", p["message"],
            )  # fmt: skip

    async def run(self) -> None:
        return None

    async def close(self) -> None:
        return None
