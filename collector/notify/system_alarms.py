"""System alarms: hazwatch's own faults (a disk that refuses writes) told to the same webhook subscribers.

Each probe answers "what is wrong" (None while all is well). A problem appearing raises one alarm per
configured site, rule `system.disk`, category `system`, sensor `hazwatch`; its end clears it. The payload
has the webhook schema's fields (docs/webhooks.md), so receivers and filters need nothing new. These
events are made in memory and handed to the outbox, which holds them in memory while the disk refuses.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence

from collector.notify.payload import SCHEMA_VERSION, rfc3339
from collector.telemetry import metrics

log = logging.getLogger("hazwatch.system")

RULE = "system.disk"
SENSOR = "hazwatch"
Probe = Callable[[], object | None]


class SystemAlarms:
    def __init__(self, sites: Sequence[str], probes: Mapping[str, Probe] | None = None) -> None:
        self.sites = list(sites)
        self.probes: dict[str, Probe] = dict(probes or {})
        self.problem: str | None = None
        self._sequence = 0

    def watch(self, name: str, probe: Probe) -> None:
        self.probes[name] = probe

    def poll(self, now_ns: int) -> list[dict[str, object]]:
        """Payloads of the raise or clear this poll found (none while nothing changed)."""
        problems = [f"{name}: {problem}" for name, probe in self.probes.items() if (problem := probe()) is not None]
        problem = "; ".join(problems) or None
        if (problem is None) == (self.problem is None):
            if problem is not None:
                self.problem = problem
            return []
        self.problem = problem
        self._sequence += 1
        metrics.SYSTEM_ALARM.labels(RULE).set(0 if problem is None else 1)
        if problem is None:
            log.warning("system alarm cleared: every part of hazwatch writes to disk again")
        else:
            log.error("system alarm: hazwatch cannot write to disk: %s", problem)
        return [self._payload(site, problem, now_ns) for site in self.sites]

    def _payload(self, site: str, problem: str | None, now_ns: int) -> dict[str, object]:
        raised = problem is not None
        transition = "raise" if raised else "clear"
        text = f"{site}|{RULE}|{transition}|{now_ns}|{self._sequence}"
        return {
            "schema": SCHEMA_VERSION,
            "event_id": hashlib.sha256(text.encode()).hexdigest()[:32],
            "site": site,
            "area": "",
            "sensor": SENSOR,
            "sensor_name": "hazwatch itself",
            "kind": "system",
            "rule": RULE,
            "category": "system",
            "transition": transition,
            "state": "unacknowledged" if raised else "normal",
            "level": 1 if raised else 0,
            "level_name": "cannot_write" if raised else "normal",
            "peak_level": 1,
            "priority": "high",
            "value": None,
            "limit": None,
            "unit": "",
            "time": rfc3339(now_ns),
            "message": f"hazwatch cannot write to disk, alarms go on from memory: {problem}"
            if raised
            else "hazwatch writes to disk again; what was held in memory is on disk",
            "user": None,
            "extra": {},
        }
