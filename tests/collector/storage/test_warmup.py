"""A restarted worker reads back what it stored since its snapshot, slice by slice, from a real influxd."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from collector.app.localservices import free_port
from collector.storage.influx import InfluxSink
from collector.storage.warmup import readings_since
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from tests.collector.storage.influx_helpers import drain

SECOND = 10**9


def _stored(settings: InfluxSettings, registry: SensorRegistry, batch: ReadingBatch) -> None:
    sink = InfluxSink(settings, registry)
    sink.submit(batch)
    asyncio.run(drain(sink))


def test_the_owned_readings_after_the_snapshot_come_back_in_time_order_one_slice_at_a_time(
    settings: InfluxSettings, registry: SensorRegistry
) -> None:
    now = time.time_ns() // SECOND * SECOND
    slots = np.tile(np.arange(len(registry)), 12)
    times = now - 6 * SECOND + np.repeat(np.arange(12, dtype=np.int64) * SECOND // 2, len(registry))
    values = np.arange(len(slots), dtype=np.float64)
    _stored(settings, registry, ReadingBatch.from_columns(slots, times, values, 0))
    owned = np.arange(len(registry)) % 2 == 0
    since = now - 4 * SECOND

    batches = list(readings_since(settings, registry, owned, since, slice_ns=SECOND))

    wanted = (times > since) & owned[slots]
    replayed = ReadingBatch.concat(batches)
    assert len(replayed) == int(wanted.sum())
    assert np.all(np.diff(replayed.time_ns) >= 0), "each slot's readings must reach the detectors oldest first"
    assert sorted(zip(replayed.slot.tolist(), replayed.time_ns.tolist(), replayed.value.tolist(), strict=True)) == (
        sorted(zip(slots[wanted].tolist(), times[wanted].tolist(), values[wanted].tolist(), strict=True))
    )
    assert len(batches) >= 4, "four seconds of readings in one-second slices"
    assert all(int(b.time_ns.max() - b.time_ns.min()) < SECOND for b in batches), "no batch spans more than a slice"


def test_readings_stamped_after_the_warm_up_began_are_still_replayed(
    settings: InfluxSettings, registry: SensorRegistry
) -> None:
    now = time.time_ns() // SECOND * SECOND
    later = ReadingBatch.from_columns([0, 0], [now - SECOND, now + 30 * SECOND], [1.0, 2.0], 0)
    _stored(settings, registry, later)

    batches = list(readings_since(settings, registry, np.ones(len(registry), bool), now - 3 * SECOND))

    assert ReadingBatch.concat(batches).value.tolist() == [1.0, 2.0]


def test_nothing_stored_since_the_snapshot_replays_nothing(settings: InfluxSettings, registry: SensorRegistry) -> None:
    snapshot = time.time_ns()
    _stored(settings, registry, ReadingBatch.from_columns([0], [snapshot - SECOND], [1.0], 0))

    assert list(readings_since(settings, registry, np.ones(len(registry), bool), snapshot)) == []


def test_what_the_log_held_at_a_kill_is_sent_before_the_warm_up_reads_it_back(
    settings: InfluxSettings, registry: SensorRegistry
) -> None:
    now = time.time_ns()
    _stored(settings, registry, ReadingBatch.from_columns([0], [now - 10 * SECOND], [1.0], 0))
    held = ReadingBatch.from_columns([0, 1], [now - SECOND, now - SECOND], [2.0, 3.0], 0)
    unreachable = settings.model_copy(update={"url": f"http://127.0.0.1:{free_port()}"})

    async def died_with_readings_in_its_log() -> None:
        sink = InfluxSink(unreachable, registry, close_timeout=0.5)
        sink.submit(held)
        await sink.close()
        assert sink.backlog == 2

    async def restarted() -> None:
        sink = InfluxSink(settings, registry)
        await sink.send_held(timeout=10)
        await sink.close()

    asyncio.run(died_with_readings_in_its_log())
    since = now - 5 * SECOND
    assert list(readings_since(settings, registry, np.ones(len(registry), bool), since)) == []
    asyncio.run(restarted())

    replayed = ReadingBatch.concat(list(readings_since(settings, registry, np.ones(len(registry), bool), since)))
    assert sorted(replayed.value.tolist()) == [2.0, 3.0]
