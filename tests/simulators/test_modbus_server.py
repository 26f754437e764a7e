"""The mine's Modbus servers serve the site config's register map, checked with mbpoll, a client we did not write.

mbpoll reads the raw registers of every TCP device; this test decodes them with its own struct
code and must get exactly the engineering values the simulator says it served. Where mbpoll
can decode a type itself (32-bit float and int), its reading must agree too.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import struct

import numpy as np
import pytest

from collector.app.localservices import free_port
from hazwatch.config import HazwatchConfig, load_config
from hazwatch.config.examples import MINE_EXAMPLE as EXAMPLE
from hazwatch.config.kinds import DEFAULT_RANGE
from hazwatch.config.schema import ModbusDevice, ModbusRegister
from hazwatch.quality import Quality
from simulators.modbus_server import MineModbusServers
from simulators.physics.presets import mine_preset

STRUCT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q"}
STRUCT |= {"float32": "f", "float64": "d"}
MBPOLL_TABLE = {"coil": "0", "discrete": "1", "input": "3", "holding": "4"}
LINE = re.compile(r"^\[(\d+)\]:\s+(\S+)\s*$")

needs_mbpoll = pytest.mark.skipif(shutil.which("mbpoll") is None, reason="mbpoll (Debian package) not installed")


class UniformModel:
    """Random values over each sensor's range, so every bit and every word of the map gets exercised."""

    def __init__(self, config: HazwatchConfig, seed: int = 5) -> None:
        sensors = [s for area in config.sites[0].areas for s in area.sensors]
        self.sensors = [s.id for s in sensors]
        ranges = np.array([s.range or DEFAULT_RANGE[s.kind] for s in sensors])
        self._low, self._high = ranges[:, 0], ranges[:, 1]
        self._rng = np.random.default_rng(seed)
        self.faulty: set[str] = set()

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        quality = [Quality.FAULT if s in self.faulty else Quality.GOOD for s in self.sensors]
        return self._rng.uniform(self._low, self._high), np.array(quality, dtype=np.uint8)


def mine_on_free_ports() -> HazwatchConfig:
    config = load_config(EXAMPLE)
    site = config.sites[0]
    devices = [d.model_copy(update={"port": free_port()}) for d in site.devices]
    return config.model_copy(update={"sites": [site.model_copy(update={"devices": devices})]})


async def mbpoll(
    port: int, unit: int, table: str, start: int, count: int, fmt: str = "", *flags: str
) -> dict[int, str]:
    """Run mbpoll once (PDU addressing) and return {address: printed value}."""
    process = await asyncio.create_subprocess_exec(
        "mbpoll", "-m", "tcp", "-p", str(port), "-a", str(unit), "-0", "-r", str(start), "-c", str(count),
        "-t", MBPOLL_TABLE[table] + fmt, "-1", "-o", "2", *flags, "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return {int(m[1]): m[2] for line in out.decode().splitlines() if (m := LINE.match(line))}


def decode_independently(words: list[int], reg: ModbusRegister, device: ModbusDevice) -> tuple[float, int]:
    if reg.bit is not None:
        word = (
            words[0]
            if (reg.byte_order or device.byte_order) == "big"
            else int.from_bytes(words[0].to_bytes(2, "little"))
        )
        return float((word >> reg.bit) & 1), Quality.GOOD
    pairs = [w.to_bytes(2, "big") for w in words]
    if (reg.byte_order or device.byte_order) == "little":
        pairs = [p[::-1] for p in pairs]
    if (reg.word_order or device.word_order) == "little":
        pairs.reverse()
    data = b"".join(pairs)
    raw = struct.unpack(">" + STRUCT[reg.type], data)[0]
    pattern = int.from_bytes(data, "big")
    if any(pattern == s % (1 << (8 * len(data))) for s in reg.invalid):
        return math.nan, Quality.FAULT
    return raw * reg.scale + reg.offset, Quality.GOOD


async def read_with_mbpoll(device: ModbusDevice, port: int) -> dict[str, tuple[float, int]]:
    read: dict[str, tuple[float, int]] = {}
    for reg in device.registers:
        unit = device.unit_id if reg.unit_id is None else reg.unit_id
        if reg.table in ("coil", "discrete"):
            values = await mbpoll(port, unit, reg.table, reg.address, 1)
            read[reg.sensor] = (float(values[reg.address]), Quality.GOOD)
            continue
        words = 1 if reg.bit is not None else struct.calcsize(STRUCT[reg.type]) // 2
        raw = await mbpoll(port, unit, reg.table, reg.address, words, ":hex")
        read[reg.sensor] = decode_independently(
            [int(raw[a], 16) for a in range(reg.address, reg.address + words)], reg, device
        )
    return read


@needs_mbpoll
def test_mbpoll_reads_every_tcp_register_as_the_value_the_simulator_served():
    config = mine_on_free_ports()
    model = UniformModel(config)
    model.faulty = {"LW-CH4-T0", "LW-TEMP-T2", "BT-CO-TAIL", "CH-TEMP"}  # devices serve their sentinels
    tcp_devices = [d for d in config.sites[0].devices if d.transport == "tcp"]  # mbpoll speaks no RTU over TCP

    async def scenario():
        servers = MineModbusServers(config, model, update_interval=None)
        await servers.start()
        try:
            read = {}
            for device in tcp_devices:
                read |= await read_with_mbpoll(device, device.port)
            return read, servers.served()
        finally:
            await servers.stop()

    read, served = asyncio.run(scenario())
    assert len(read) == sum(len(d.registers) for d in tcp_devices) > 30
    for sensor, (value, quality) in read.items():
        served_value, served_quality = served[sensor]
        assert quality == served_quality, sensor
        assert (math.isnan(value) and math.isnan(served_value)) or value == served_value, (sensor, value, served_value)
    assert {s for s, (_, q) in read.items() if q == Quality.FAULT} == model.faulty


@needs_mbpoll
def test_mbpoll_own_float_and_int_decoding_agrees_for_big_endian_words():
    config = mine_on_free_ports()
    fanhouse = next(d for d in config.sites[0].devices if d.id == "ss-fanhouse")
    longwall = next(d for d in config.sites[0].devices if d.id == "ss-lw1201")

    async def scenario():
        servers = MineModbusServers(config, mine_preset(config.sites[0], seed=3), update_interval=None)
        await servers.start()
        try:
            floats = await mbpoll(longwall.port, 1, "holding", 0, 10, ":float", "-B")  # -c counts floats
            ints = await mbpoll(fanhouse.port, 1, "holding", 6, 1, ":int", "-B")
            return floats, ints, servers.served()
        finally:
            await servers.stop()

    floats, ints, served = asyncio.run(scenario())
    for reg in longwall.registers[:10]:  # float32, ABCD: mbpoll prints 6 significant digits
        assert float(floats[reg.address]) == pytest.approx(served[reg.sensor][0], rel=1e-5), reg.sensor
    assert float(ints[6]) == served["MR-NEGP"][0]


def test_a_stopped_device_refuses_connections_and_serves_again_after_start():
    config = mine_on_free_ports()
    chamber = next(d for d in config.sites[0].devices if d.id == "ss-chamber1")

    async def reachable() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", chamber.port)
        except OSError:
            return False
        writer.close()
        return True

    async def scenario():
        servers = MineModbusServers(config, mine_preset(config.sites[0]), update_interval=None)
        await servers.start()
        try:
            states = [await reachable()]
            await servers.stop_device("ss-chamber1")
            states.append(await reachable())
            await servers.start_device("ss-chamber1")
            states.append(await reachable())
            return states
        finally:
            await servers.stop()

    assert asyncio.run(scenario()) == [True, False, True]


def test_served_values_carry_the_rounding_of_their_register_type():
    config = mine_on_free_ports()
    model = UniformModel(config, seed=9)

    async def scenario():
        servers = MineModbusServers(config, model, update_interval=None)
        await servers.start()
        await servers.stop()
        return servers.served()

    served = asyncio.run(scenario())
    assert len(served) == 48
    # int16 ×0.1: a multiple of 0.1; float32: exactly representable in single precision
    assert round(served["LW-TEMP-T1"][0] * 10) == pytest.approx(served["LW-TEMP-T1"][0] * 10, abs=1e-9)
    assert float(np.float32(served["LW-CH4-T1"][0])) == served["LW-CH4-T1"][0]
    assert served["HD-FAN"][0] in (0.0, 1.0)
