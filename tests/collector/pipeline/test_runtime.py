"""`hazwatch run` wiring: simulated Modbus devices -> collector -> detectors -> a real influxd."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import numpy as np
import pytest

from collector.app.demo import with_free_modbus_ports
from collector.app.localservices import LocalInfluxd, local_influxd
from collector.app.runtime import RunOptions, build_runtime, serve
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, load_config
from hazwatch.config.examples import EXAMPLES
from simulators.modbus_server import MineModbusServers
from simulators.physics.presets import mine_preset


class ReadingCounter:
    """A reading sink that remembers every reading the pipeline handed to storage."""

    def __init__(self) -> None:
        self.times: dict[int, list[int]] = defaultdict(list)

    def submit(self, batch: ReadingBatch) -> None:
        for slot, time_ns in zip(batch.slot.tolist(), batch.time_ns.tolist(), strict=True):
            self.times[slot].append(time_ns)

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass


def _fast_mine() -> HazwatchConfig:
    config = with_free_modbus_ports(load_config(EXAMPLES / "coal-mine.yaml"))
    site = config.sites[0]
    devices = [d.model_copy(update={"poll_interval": 0.5}) for d in site.devices]
    return config.model_copy(
        update={
            "sites": [site.model_copy(update={"devices": devices})],
            "webhooks": config.webhooks.model_copy(update={"subscribers": []}),
        }
    )


def _stored(server: LocalInfluxd) -> dict[str, list[tuple[int, float | None, int]]]:
    stored: dict[str, list[tuple[int, float | None, int]]] = {}
    for series in server.query('SELECT "value", "quality" FROM "readings" GROUP BY "sensor"'):
        stored[series["tags"]["sensor"]] = [tuple(row) for row in series["values"]]
    return stored


@pytest.fixture
def influxd():
    with local_influxd() as server:
        yield server


async def _run_mine(config, influxd, tmp_path, during, update_interval=0.5):
    runtime = build_runtime(config, RunOptions(influx_url=influxd.url, state_dir=tmp_path / "state"))
    counter = ReadingCounter()
    runtime.pipeline.reading_sinks.append(counter)
    site = config.sites[0]
    servers = MineModbusServers(site, mine_preset(site, seed=3), update_interval=update_interval)
    await servers.start()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(runtime, stop))
    try:
        await during(servers)
    finally:
        stop.set()
        await task
        await servers.stop()
    return runtime, counter, servers


def test_values_in_influxdb_equal_what_the_simulated_devices_served(influxd, tmp_path) -> None:
    """Every data type and byte/word order of the mine config decodes to exactly the served number."""
    config = _fast_mine()

    async def hold(servers: MineModbusServers) -> None:
        await asyncio.sleep(3)

    _, _, servers = asyncio.run(_run_mine(config, influxd, tmp_path, hold, update_interval=None))
    served = servers.served()
    stored = _stored(influxd)
    assert set(stored) == set(served)
    for sensor, (value, quality) in served.items():
        values = {row[1] for row in stored[sensor]}
        assert values == {value}, sensor
        assert {row[2] for row in stored[sensor]} == {quality}, sensor


def test_an_influxd_outage_of_20_s_loses_nothing_and_keeps_order(influxd, tmp_path) -> None:
    config = _fast_mine()

    async def outage(servers: MineModbusServers) -> None:
        await asyncio.sleep(3)
        influxd.stop()
        await asyncio.sleep(20)
        influxd.start()
        await asyncio.sleep(6)

    runtime, counter, _ = asyncio.run(_run_mine(config, influxd, tmp_path, outage))
    stored = _stored(influxd)
    assert runtime.storage.backlog == 0
    for info in runtime.registry:
        handed_over = counter.times[info.slot]
        kept = [row[0] for row in stored[info.sensor]]
        assert len(handed_over) > 40, info.sensor
        assert kept == sorted(handed_over), info.sensor
        assert np.all(np.diff(handed_over) > 0), f"{info.sensor}: readings reached storage out of order"
