"""Liveness and readiness for a supervisor (systemd watchdog scripts, Kubernetes probes): `/healthz`, `/readyz`.

Liveness is the asyncio loop that detects alarms answering: a task beats every second, and a loop that has
not beaten for `stale_after_s` (blocked by a bug, starved, deadlocked) is reported dead so the supervisor
restarts the worker. Readiness is the worker's sources being connected and subscribed: until then a
rolling restart must not take the next worker down. The answers are read in the metrics server's own
thread, so a probe never waits for the loop it is probing. Under systemd the same beat feeds its watchdog
(collector/telemetry/sdnotify.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from collector.telemetry.sdnotify import sd_notify

READY_ALWAYS: Callable[[], tuple[bool, str]] = lambda: (True, "no sources to wait for")  # noqa: E731


class Health:
    def __init__(
        self,
        ready: Callable[[], tuple[bool, str]] = READY_ALWAYS,
        stale_after_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        notify: Callable[[str], bool] = sd_notify,
    ) -> None:
        self.ready_check = ready
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.notify = notify
        self._last_beat: float | None = None

    async def beat(self, every_s: float = 1.0) -> None:
        """Runs on the detection loop until cancelled: the liveness clock, and systemd's watchdog."""
        self.notify("READY=1")
        status = ""
        while True:
            self._last_beat = self.clock()
            ready, why = self.ready_check()
            now = f"STATUS={'ready' if ready else 'not ready'}: {why}"
            self.notify(f"WATCHDOG=1\n{now}" if now != status else "WATCHDOG=1")
            status = now
            await asyncio.sleep(every_s)

    def live(self) -> tuple[bool, str]:
        if self._last_beat is None:
            return False, "detection loop not started"
        age = self.clock() - self._last_beat
        if age > self.stale_after_s:
            return False, f"detection loop silent for {age:.1f} s"
        return True, f"detection loop beat {age:.1f} s ago"

    def ready(self) -> tuple[bool, str]:
        alive, why = self.live()
        return self.ready_check() if alive else (False, why)
