"""The InfluxDB v2 token path against a real server that checks the token: vmauth in front of victoria-metrics.

There is no InfluxDB 2 in Debian (its influxdb is 1.6, which has neither `/api/v2/write` nor tokens). vmauth,
VictoriaMetrics' auth proxy, checks the `Authorization` header of every request against the tokens in its
config and forwards `/api/v2/write` to victoria-metrics, which speaks the v2 write API: so these tests show that
hazwatch sends its token the way a token-checking server reads it, and keeps what such a server refuses.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from influx_helpers import T0_NS, drain

from collector.app.localservices import LocalVictoriaMetrics, free_port, local_victoria_metrics
from collector.storage.influx import InfluxSink
from collector.storage.writer import TransientWriteError
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from tests.support.vmauth import LocalVmauth, data_dir

TOKEN = "hazwatch-writer-token-5c1f0e9a7d3b"
TOKEN_ENV = "HAZWATCH_TEST_VMAUTH_TOKEN"


@pytest.fixture(scope="module")
def victoria() -> Iterator[LocalVictoriaMetrics]:
    with local_victoria_metrics() as server:
        yield server


@pytest.fixture
def vmauth(victoria: LocalVictoriaMetrics, tmp_path: Path) -> Iterator[LocalVmauth]:
    proxy = LocalVmauth(port=free_port(), data_dir=data_dir(tmp_path), backend=victoria.url, token=TOKEN)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _batch(registry: SensorRegistry, rows: int, offset_s: int) -> ReadingBatch:
    slots = np.tile(np.arange(len(registry)), rows)
    times = T0_NS + np.repeat((offset_s + np.arange(rows, dtype=np.int64)) * 1_000_000_000, len(registry))
    return ReadingBatch.from_columns(slots, times, np.arange(len(slots), dtype=np.float64), 0)


def _settings(vmauth: LocalVmauth, tmp_path: Path) -> InfluxSettings:
    return InfluxSettings(
        url=vmauth.url, api="v2", bucket="hazwatch", token_env=TOKEN_ENV, flush_interval=0.1, spool_dir=str(tmp_path)
    )


def _stored_times(victoria: LocalVictoriaMetrics, sensor: str) -> list[int]:
    return [t for s in victoria.export("readings_quality") if s["metric"]["sensor"] == sensor for t in s["timestamps"]]


def test_readings_written_with_the_right_token_pass_the_token_check_and_are_stored(
    registry: SensorRegistry,
    victoria: LocalVictoriaMetrics,
    vmauth: LocalVmauth,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    sink = InfluxSink(_settings(vmauth, tmp_path), registry)
    sink.submit(_batch(registry, rows=5, offset_s=0))
    asyncio.run(drain(sink))
    sensor = next(iter(registry)).sensor
    assert _stored_times(victoria, sensor) == [(T0_NS + i * 1_000_000_000) // 1_000_000 for i in range(5)]


def test_a_write_without_its_token_is_refused_and_waits_in_the_log_instead_of_being_dropped(
    registry: SensorRegistry,
    victoria: LocalVictoriaMetrics,
    vmauth: LocalVmauth,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    sink = InfluxSink(_settings(vmauth, tmp_path), registry)
    sink.submit(_batch(registry, rows=3, offset_s=100))
    durable = threading.Event()
    sink.when_durable(durable.set)
    assert durable.wait(30), "the readings reached the write-ahead log"  # flush sends only what is committed

    async def one_flush() -> None:
        with pytest.raises(TransientWriteError, match="401"):
            await sink.flush(retry=False)
        await sink.close()

    asyncio.run(one_flush())
    assert sink.backlog == 3 * len(registry), "refused readings must stay in the write-ahead log"
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    again = InfluxSink(_settings(vmauth, tmp_path), registry)
    asyncio.run(drain(again))
    sensor = next(iter(registry)).sensor
    assert _stored_times(victoria, sensor)[-3:] == [(T0_NS + (100 + i) * 1_000_000_000) // 1_000_000 for i in range(3)]
