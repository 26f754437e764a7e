"""Live ISA-18.2 KPIs: an EventSink that recomputes each site's alarm KPIs every minute and stores them.

The control-room dashboard shows these figures (alarms per 10 min, floods, chattering, stale,
standing alarms) as they are now, so the writer keeps the last day of activations in memory and
writes `alarm_kpi` through the storage sink's line-protocol path.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence

from collector.storage.kpi_influx import kpi_lines
from detectors.alarms.kpi import KpiRecord, compute_kpis, kpi_record
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent

NS = 1_000_000_000
WINDOW_S = 86_400.0


class AlarmKpiWriter:
    def __init__(
        self,
        registry: SensorRegistry,
        write: Callable[[bytes], None],
        standing: Callable[[], Sequence[int]],
        interval: float = 60.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """`standing` returns the slots of the alarms active right now (one entry per active alarm)."""
        self.registry = registry
        self.write = write
        self.standing = standing
        self.interval = interval
        self.clock = clock
        self._records: dict[str, deque[KpiRecord]] = defaultdict(deque)

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        for event in events:
            self._records[self.registry.sensors[event.slot].site].append(kpi_record(event, self.registry))

    def sample(self) -> bytes:
        now_ns = self.clock()
        start_ns = now_ns - int(WINDOW_S * NS)
        standing: dict[str, int] = defaultdict(int)
        for slot in self.standing():
            standing[self.registry.sensors[slot].site] += 1
        lines: list[str] = []
        for site in dict.fromkeys(s.site for s in self.registry):
            records = self._records[site]
            while records and records[0].time_ns < start_ns:
                records.popleft()
            kpis = compute_kpis(records, start_ns=start_ns, end_ns=now_ns)
            lines += kpi_lines(kpis, site, standing=standing[site])
        return "".join(lines).encode()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.write(self.sample())

    async def close(self) -> None:
        self.write(self.sample())
