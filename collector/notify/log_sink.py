"""Alarm events to the log (one key=value line each) and to a JSON-lines file (the KPI input)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from collector.notify.payload import PayloadBuilder, encode
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


class JsonlEventSink:
    """Appends each event's webhook payload as one JSON line: `hazwatch alarms kpi --from FILE` reads it."""

    def __init__(self, registry: SensorRegistry, path: Path | str) -> None:
        self.builder = PayloadBuilder(registry)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        for event in events:
            self._file.write(encode(self.builder.build(event)) + b"\n")
        self._file.flush()

    async def run(self) -> None:
        return None

    async def close(self) -> None:
        self._file.close()
