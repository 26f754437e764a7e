"""LineProtocolFileSink: the same line protocol as the InfluxDB sink, appended to a file.

The demo's fallback when no InfluxDB is installed: the file can later be loaded with
`influx -import` or `curl --data-binary @FILE .../write`, so nothing collected is thrown away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from collector.telemetry import metrics
from hazwatch.batch import ReadingBatch
from hazwatch.config.registry import SensorRegistry
from hazwatch.events import AlarmEvent
from hazwatch.storage.lineprotocol import AlarmEncoder, ReadingEncoder


class LineProtocolFileSink:
    """A ReadingSink and EventSink; writes happen in a worker thread every `flush_interval` seconds."""

    def __init__(self, path: Path | str, registry: SensorRegistry, flush_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_interval = flush_interval
        self._readings = ReadingEncoder(registry)
        self._alarms = AlarmEncoder(registry)
        self._pending: list[ReadingBatch | bytes] = []

    def submit(self, batch: ReadingBatch) -> None:
        if len(batch):
            self._pending.append(batch)

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        if events:
            self._pending.append(self._alarms.encode(events))

    def submit_lines(self, data: bytes) -> None:
        if data:
            self._pending.append(data)

    def _write(self, items: list[ReadingBatch | bytes]) -> None:
        data = b"".join(self._readings.encode(i) if isinstance(i, ReadingBatch) else i for i in items)
        with open(self.path, "ab") as handle:
            handle.write(data)
        metrics.INFLUX_POINTS_WRITTEN.inc(data.count(b"\n"))

    async def flush(self) -> None:
        items, self._pending = self._pending, []
        if items:
            await asyncio.to_thread(self._write, items)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush()

    async def close(self) -> None:
        await self.flush()
