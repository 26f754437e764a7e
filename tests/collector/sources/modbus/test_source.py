"""The Modbus source against real pymodbus servers serving the example mine (simulators.modbus_server)."""

from __future__ import annotations

import asyncio
import logging
import math
import time

import numpy as np

from collector.sources.modbus.link import ModbusLink
from collector.sources.modbus.plan import plan_requests
from collector.sources.modbus.source import ModbusSource, modbus_sources
from collector.telemetry import metrics
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.schema import ModbusDevice, SerialLine
from hazwatch.quality import Quality
from simulators.modbus_server import MineModbusServers

SITE = "xinyuan-mine"


def by_sensor(registry: SensorRegistry, batch: ReadingBatch) -> dict[str, tuple[float, int]]:
    return {
        registry.sensors[slot].sensor: (value, int(quality))
        for slot, value, quality in zip(batch.slot.tolist(), batch.value.tolist(), batch.quality.tolist(), strict=True)
    }


def poll_interval(config: HazwatchConfig) -> float:
    return config.sites[0].devices[0].poll_interval


def assert_reads_exactly(read: dict[str, tuple[float, int]], served: dict[str, tuple[float, int]]) -> None:
    assert read.keys() == served.keys()
    for sensor, (value, quality) in served.items():
        got_value, got_quality = read[sensor]
        assert got_quality == quality, sensor
        assert (math.isnan(value) and math.isnan(got_value)) or got_value == value, (sensor, got_value, value)


async def poll_all(sources: list[ModbusSource]) -> ReadingBatch:
    return ReadingBatch.concat(await asyncio.gather(*(s.poll_once() for s in sources)))


def close(sources: list[ModbusSource]) -> None:
    for source in sources:
        source.link.drop()


def test_every_sensor_of_the_mine_reads_exactly_what_the_simulator_served(
    mine_config: HazwatchConfig, mine_registry: SensorRegistry, random_model
):
    async def scenario():
        servers = MineModbusServers(mine_config, random_model, update_interval=None)
        await servers.start()
        sources = modbus_sources(mine_config, mine_registry)
        try:
            for step in range(3):  # fresh random values each time: no agreement by coincidence
                served = await servers.update(float(step))
                assert_reads_exactly(by_sensor(mine_registry, await poll_all(sources)), served)
        finally:
            close(sources)
            await servers.stop()

    asyncio.run(scenario())


def test_a_sensor_the_device_flags_invalid_reads_fault_with_no_value(
    mine_config: HazwatchConfig, mine_registry: SensorRegistry, random_model
):
    random_model.faulty = {"LW-CH4-T1", "LW-TEMP-T1", "CH-CO", "HD-AV"}

    async def scenario():
        servers = MineModbusServers(mine_config, random_model, update_interval=None)
        await servers.start()
        sources = modbus_sources(mine_config, mine_registry)
        try:
            read = by_sensor(mine_registry, await poll_all(sources))
        finally:
            close(sources)
            await servers.stop()
        return read

    read = asyncio.run(scenario())
    for sensor in random_model.faulty:
        value, quality = read[sensor]
        assert quality == Quality.FAULT and math.isnan(value), sensor
    assert all(q == Quality.GOOD for s, (_, q) in read.items() if s not in random_model.faulty)


def test_a_stopped_device_reports_offline_within_three_polls_and_recovers_while_the_others_keep_flowing(
    mine_config: HazwatchConfig, mine_registry: SensorRegistry, random_model, caplog
):
    dead = "ss-belt1"
    dead_slots = {
        mine_registry.slot(SITE, r.sensor) for d in mine_config.sites[0].devices if d.id == dead for r in d.registers
    }
    batches: list[ReadingBatch] = []
    marks: dict[str, int] = {}

    async def scenario():
        servers = MineModbusServers(mine_config, random_model, update_interval=0.1)
        await servers.start()
        sources = modbus_sources(mine_config, mine_registry)
        tasks = [asyncio.create_task(s.run(batches.append)) for s in sources]
        try:
            await asyncio.sleep(1.0)
            marks["stop"] = time.time_ns()
            await servers.stop_device(dead)
            await asyncio.sleep(1.5)
            marks["restart"] = time.time_ns()
            await servers.start_device(dead)
            await asyncio.sleep(1.5)
            marks["end"] = time.time_ns()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await servers.stop()

    with caplog.at_level(logging.ERROR, logger="hazwatch.modbus"):
        asyncio.run(scenario())
    readings = ReadingBatch.concat(batches)
    of_dead = readings.take(np.isin(readings.slot, list(dead_slots)))
    others = readings.take(~np.isin(readings.slot, list(dead_slots)))
    interval_ns = int(poll_interval(mine_config) * 1e9)

    offline = of_dead.take(of_dead.quality == Quality.OFFLINE)
    assert len(offline) and offline.time_ns.min() - marks["stop"] <= 3 * interval_ns
    assert np.isnan(offline.value).all()
    outage = (of_dead.time_ns > marks["stop"] + 3 * interval_ns) & (of_dead.time_ns < marks["restart"])
    assert outage.sum() >= 3 and (of_dead.quality[outage] == Quality.OFFLINE).all()

    recovered = of_dead.take((of_dead.time_ns > marks["restart"]) & (of_dead.quality == Quality.GOOD))
    backoff_max = mine_config.sites[0].devices[0].backoff.maximum
    assert (
        len(recovered)
        and recovered.time_ns.min() - marks["restart"] <= (backoff_max + 3 * poll_interval(mine_config)) * 1e9
    )
    assert metrics.DEVICE_ONLINE.labels(SITE, dead)._value.get() == 1

    assert (others.quality == Quality.GOOD).all()
    per_sensor_polls = len(others) / len(set(others.slot.tolist()))
    expected_polls = (marks["end"] - marks["stop"]) / interval_ns
    assert per_sensor_polls >= 0.7 * expected_polls
    assert any(f"site={SITE} device={dead} unit=1" in r.getMessage() for r in caplog.records)


def test_an_exception_response_marks_only_that_requests_sensors_and_is_counted(
    mine_config: HazwatchConfig, mine_registry: SensorRegistry, random_model
):
    chamber = next(d for d in mine_config.sites[0].devices if d.id == "ss-chamber1")
    probe = ModbusDevice.model_validate(
        {
            **chamber.model_dump(exclude={"registers"}),
            "registers": [
                {"sensor": "CH-TEMP", "address": 0, "type": "int16", "scale": 0.1},
                {"sensor": "CH-CO", "address": 400, "type": "uint16"},  # beyond the device's map
            ],
        }
    )
    counter = metrics.MODBUS_REQUESTS.labels(SITE, probe.id, "exception")

    async def scenario():
        servers = MineModbusServers(mine_config, random_model, update_interval=None)
        await servers.start()
        source = ModbusSource(SITE, probe, plan_requests(probe, mine_registry.slots_of_site(SITE)), ModbusLink(probe))
        before = counter._value.get()
        try:
            return by_sensor(mine_registry, await source.poll_once()), counter._value.get() - before, servers.served()
        finally:
            source.link.drop()
            await servers.stop()

    read, exceptions, served = asyncio.run(scenario())
    assert exceptions == 1
    assert read["CH-CO"][1] == Quality.FAULT and math.isnan(read["CH-CO"][0])
    assert read["CH-TEMP"] == served["CH-TEMP"]


def test_serial_rtu_devices_on_one_line_share_its_port_and_read_exactly(make_mine_config, make_random_model):
    base = make_mine_config()
    line_port = base.sites[0].devices[0].port
    on_line = {"ss-lw1201", "ss-chamber1"}
    devices = [
        d.model_copy(
            update={"transport": "serial", "serial": SerialLine(port=f"socket://127.0.0.1:{line_port}", baudrate=19200)}
        )
        for d in base.sites[0].devices
        if d.id in on_line
    ]
    config = base.model_copy(update={"sites": [base.sites[0].model_copy(update={"devices": devices})]})
    registry = SensorRegistry.from_config(config)
    model = make_random_model(registry, SITE, seed=11)

    async def scenario():
        servers = MineModbusServers(config, model, port_override={d: line_port for d in on_line}, update_interval=None)
        await servers.start()
        sources = modbus_sources(config, registry)
        assert len({id(s.link) for s in sources}) == 1
        try:
            for step in range(2):
                served = await servers.update(float(step))
                served = {s: v for s, v in served.items() if registry.slot(SITE, s) is not None}
                assert_reads_exactly(by_sensor(registry, await poll_all(sources)), served)
        finally:
            close(sources)
            await servers.stop()

    asyncio.run(scenario())


def test_a_device_that_never_answers_is_offline_after_bounded_retries_and_gets_a_fresh_connection(
    mine_config: HazwatchConfig, mine_registry: SensorRegistry
):
    chamber = next(d for d in mine_config.sites[0].devices if d.id == "ss-chamber1")
    silent = chamber.model_copy(update={"timeout": 0.1, "retries": 1, "errors_before_reconnect": 2})
    connections: list[int] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while await reader.read(256):  # a TCP peer that takes requests and never answers
            pass
        writer.close()

    async def scenario():
        server = await asyncio.start_server(swallow, "127.0.0.1", silent.port)
        source = ModbusSource(
            SITE, silent, plan_requests(silent, mine_registry.slots_of_site(SITE)), ModbusLink(silent)
        )
        durations, batches = [], []
        try:
            for _ in range(4):
                started = time.monotonic()
                batches.append(await source.poll_once())
                durations.append(time.monotonic() - started)
        finally:
            source.link.drop()
            server.close()
            await server.wait_closed()
        return durations, batches

    durations, batches = asyncio.run(scenario())
    assert all((b.quality == Quality.OFFLINE).all() and np.isnan(b.value).all() for b in batches)
    assert all(len(b) == len(silent.registers) for b in batches)
    # each poll gives up after timeout × (1 + retries) for the unit, not once per request
    assert max(durations) < 2 * silent.timeout * (1 + silent.retries) + 0.2
    assert len(connections) >= 2  # dropped and reconnected after errors_before_reconnect failures
