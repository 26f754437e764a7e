"""Serve a simulated site's Modbus devices with real pymodbus servers, register map taken from the site config.

Each sensor's engineering value is encoded back to raw registers with the exact inverse of the
config's type, byte order, word order, scale and offset. The encoder works per sensor with
`struct` and Python integers, a different path from the collector's numpy decoder, so a decode
bug shows up as a mismatch rather than cancelling out. What was last served is kept as the value
a correct client must read back (after the register type's rounding), for exact comparisons.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import time
from collections import Counter
from dataclasses import dataclass, field

from pymodbus import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from hazwatch.config.schema import BIT_TABLES, REGISTER_WORDS, HazwatchConfig, ModbusDevice, ModbusRegister, Site
from hazwatch.quality import Quality
from simulators.model import SiteModel

log = logging.getLogger("hazwatch.simulators.modbus")

_STRUCT_CODE = {"float32": "f", "float64": "d"}
_SIGNED = {"int16", "int32", "int64"}
_WRITE_FUNCTION = {"holding": 16, "input": 4, "coil": 15, "discrete": 2}
_TABLE_ORDER = ("coil", "discrete", "holding", "input")
"""pymodbus SimDevice's order of the four separate blocks."""
_READ_TABLE = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}


@dataclass(frozen=True)
class Encoded:
    words: list[int]
    """Registers as they go on the wire (byte and word order applied); one bool for bit tables."""
    value: float
    """What a correct client decodes from `words`: NaN when a sentinel was served."""
    quality: int


def _to_wire(pattern: int, words: int, byte_order: str, word_order: str) -> list[int]:
    """Unsigned raw pattern -> registers: big-endian words, then the device's word and byte orders."""
    data = pattern.to_bytes(2 * words, "big")
    registers = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if word_order == "little":
        registers.reverse()
    if byte_order == "little":
        registers = [((r & 0xFF) << 8) | (r >> 8) for r in registers]
    return registers


def _raw_pattern(type_: str, raw: float) -> tuple[int, float]:
    """(unsigned bit pattern, the raw number it stands for) of an engineering value already unscaled."""
    bits = 16 * REGISTER_WORDS[type_]
    if type_ in _STRUCT_CODE:
        code = _STRUCT_CODE[type_]
        try:
            packed = struct.pack(">" + code, raw)
        except OverflowError:
            packed = struct.pack(">" + code, math.copysign(math.inf, raw))
        return int.from_bytes(packed, "big"), struct.unpack(">" + code, packed)[0]
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if type_ in _SIGNED else (0, (1 << bits) - 1)
    number = min(max(round(raw), low), high)
    return number % (1 << bits), float(number)


def encode_value(reg: ModbusRegister, device: ModbusDevice, value: float, faulty: bool) -> Encoded:
    """Registers for one numeric sensor; a faulty or non-finite value is served as its first sentinel."""
    type_ = reg.type
    bits = 16 * REGISTER_WORDS[type_]
    sentinels = [s % (1 << bits) for s in reg.invalid]
    if (faulty or not math.isfinite(value)) and sentinels:
        pattern, raw = sentinels[0], math.nan
    else:
        pattern, raw = _raw_pattern(type_, (value - reg.offset) / reg.scale if math.isfinite(value) else 0.0)
    words = _to_wire(
        pattern, REGISTER_WORDS[type_], reg.byte_order or device.byte_order, reg.word_order or device.word_order
    )
    decoded = raw * reg.scale + reg.offset
    if pattern in sentinels or not math.isfinite(decoded):
        return Encoded(words, math.nan, Quality.FAULT)
    return Encoded(words, decoded, Quality.GOOD)


@dataclass
class _Block:
    """One table of one unit id: contiguous registers (or bits) from `start`."""

    start: int
    values: list = field(default_factory=list)


@dataclass
class _Endpoint:
    """One listening port and the devices (unit ids) it answers for."""

    port: int
    framer: FramerType
    devices: list[ModbusDevice]
    blocks: dict[tuple[int, str], _Block] = field(default_factory=dict)
    server: ModbusTcpServer | None = None
    sensors_at: dict[tuple[int, str], list[tuple[int, int, str]]] = field(default_factory=dict)
    """(unit id, table) -> (first address, one past the last, sensor) of every mapped sensor."""
    asked: dict[tuple[int, int], tuple[str, int, int]] = field(default_factory=dict)
    """(unit id, transaction id) -> (table, address, count) of a read request not answered yet."""


def _spans(devices: list[ModbusDevice]) -> dict[tuple[int, str], _Block]:
    """Per (unit id, table): a block from the lowest to one past the highest mapped address."""
    extent: dict[tuple[int, str], tuple[int, int]] = {}
    for device in devices:
        for reg in device.registers:
            unit = device.unit_id if reg.unit_id is None else reg.unit_id
            size = 1 if reg.table in BIT_TABLES else REGISTER_WORDS[reg.type]
            low, high = extent.get((unit, reg.table), (reg.address, reg.address + size))
            extent[(unit, reg.table)] = (min(low, reg.address), max(high, reg.address + size))
    return {
        key: _Block(low, [False if key[1] in BIT_TABLES else 0] * (high - low)) for key, (low, high) in extent.items()
    }


def _sensor_ranges(devices: list[ModbusDevice]) -> dict[tuple[int, str], list[tuple[int, int, str]]]:
    ranges: dict[tuple[int, str], list[tuple[int, int, str]]] = {}
    for device in devices:
        for reg in device.registers:
            unit = device.unit_id if reg.unit_id is None else reg.unit_id
            size = 1 if reg.table in BIT_TABLES else REGISTER_WORDS[reg.type]
            ranges.setdefault((unit, reg.table), []).append((reg.address, reg.address + size, reg.sensor))
    return ranges


def _sim_devices(blocks: dict[tuple[int, str], _Block]) -> list[SimDevice]:
    devices = []
    for unit in sorted({unit for unit, _ in blocks}):
        tables = []
        for table in _TABLE_ORDER:
            block = blocks.get((unit, table))
            if table in BIT_TABLES:
                start, count = (block.start, len(block.values)) if block else (0, 1)
                tables.append([SimData(start, values=[False] * count, datatype=DataType.BITS)])
            else:
                start, count = (block.start, len(block.values)) if block else (0, 1)
                tables.append([SimData(start, count=count, values=0, datatype=DataType.REGISTERS)])
        devices.append(SimDevice(id=unit, simdata=tuple(tables)))  # type: ignore[arg-type]
    return devices


class MineModbusServers:
    """Every Modbus device of a site, served from a SiteModel sampled every `update_interval` seconds.

    Devices sharing a port share one server (one unit id each). Serial devices are served as RTU
    over TCP when `port_override` gives them a port, and skipped otherwise. `update_interval=None`
    serves only what `update()` writes, for tests that need the values to hold still.
    """

    def __init__(
        self,
        config: HazwatchConfig | Site,
        model: SiteModel,
        port_override: dict[str, int] | None = None,
        *,
        host: str = "127.0.0.1",
        update_interval: float | None = 0.5,
        site_id: str | None = None,
    ) -> None:
        self.site = config if isinstance(config, Site) else self._pick_site(config, site_id)
        self.model = model
        self.host = host
        self.update_interval = update_interval
        self._index = {sensor: i for i, sensor in enumerate(model.sensors)}
        self._served: dict[str, tuple[float, int]] = {}
        self._endpoints: dict[int, _Endpoint] = {}
        self._port_of: dict[str, int] = {}
        overrides = port_override or {}
        for device in self.site.devices:
            if not isinstance(device, ModbusDevice):
                continue
            if device.transport == "serial" and device.id not in overrides:
                log.info("device %s is on a serial line: not served (give it a port to serve RTU over TCP)", device.id)
                continue
            port = overrides.get(device.id, device.port)
            framer = FramerType.SOCKET if device.transport == "tcp" else FramerType.RTU
            endpoint = self._endpoints.setdefault(port, _Endpoint(port, framer, []))
            if endpoint.framer != framer:
                raise ValueError(f"device {device.id}: port {port} already serves another framing")
            endpoint.devices.append(device)
            self._port_of[device.id] = port
        for endpoint in self._endpoints.values():
            endpoint.blocks = _spans(endpoint.devices)
            endpoint.sensors_at = _sensor_ranges(endpoint.devices)
        self.answered: Counter[str] = Counter()
        """Sensor id -> readings served in answers to read requests (what a client that completed every poll it
        was answered holds)."""
        self._t0 = time.monotonic()
        self._updater: asyncio.Task | None = None

    @staticmethod
    def _pick_site(config: HazwatchConfig, site_id: str | None) -> Site:
        for site in config.sites:
            if (site_id is None and any(isinstance(d, ModbusDevice) for d in site.devices)) or site.id == site_id:
                return site
        raise ValueError(f"no site {site_id or 'with Modbus devices'} in the config")

    @property
    def endpoints(self) -> dict[str, tuple[str, int]]:
        """Device id -> (host, port) it is served on."""
        return {device: (self.host, port) for device, port in self._port_of.items()}

    def served(self) -> dict[str, tuple[float, int]]:
        """Sensor id -> (value a correct client decodes, quality) of the last update."""
        return dict(self._served)

    async def start(self) -> None:
        self._t0 = time.monotonic()
        self._encode(0.0)
        for endpoint in self._endpoints.values():
            await self._start_endpoint(endpoint)
        if self.update_interval is not None:
            self._updater = asyncio.create_task(self._update_forever(self.update_interval))

    async def stop(self) -> None:
        if self._updater is not None:
            self._updater.cancel()
            await asyncio.gather(self._updater, return_exceptions=True)
            self._updater = None
        for endpoint in self._endpoints.values():
            await self._stop_endpoint(endpoint)

    async def stop_device(self, device_id: str) -> None:
        """Take the device's port off the network (every device sharing that port goes with it)."""
        await self._stop_endpoint(self._endpoints[self._port_of[device_id]])

    async def start_device(self, device_id: str) -> None:
        await self._start_endpoint(self._endpoints[self._port_of[device_id]])

    async def update(self, t_s: float | None = None) -> dict[str, tuple[float, int]]:
        """Sample the model at `t_s` (default: seconds since start) and serve it; returns what is served."""
        self._encode(time.monotonic() - self._t0 if t_s is None else t_s)
        for endpoint in self._endpoints.values():
            await self._write(endpoint)
        return self.served()

    async def _update_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.update()

    async def _start_endpoint(self, endpoint: _Endpoint) -> None:
        if endpoint.server is not None:
            return
        server = ModbusTcpServer(
            _sim_devices(endpoint.blocks),
            framer=endpoint.framer,
            address=(self.host, endpoint.port),
            trace_pdu=lambda sending, pdu: self._count_answer(endpoint, sending, pdu),
        )
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            server.close()
            raise OSError(f"cannot listen on {self.host}:{endpoint.port} (port in use?)") from exc
        endpoint.server = server
        await self._write(endpoint)

    def _count_answer(self, endpoint: _Endpoint, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        """Requests and answers are matched by unit and transaction id: clients on other connections interleave."""
        key = (pdu.dev_id, pdu.transaction_id)
        if not sending:
            table = _READ_TABLE.get(pdu.function_code)
            if table is not None:
                endpoint.asked[key] = (table, pdu.address, pdu.count)
            return pdu
        asked = endpoint.asked.pop(key, None)
        if asked is not None and not pdu.isError():
            table, address, count = asked
            for first, end, sensor in endpoint.sensors_at.get((pdu.dev_id, table), []):
                if address <= first and end <= address + count:
                    self.answered[sensor] += 1
        return pdu

    async def _stop_endpoint(self, endpoint: _Endpoint) -> None:
        if endpoint.server is not None:
            await endpoint.server.shutdown()
            endpoint.server = None

    async def _write(self, endpoint: _Endpoint) -> None:
        if endpoint.server is None:
            return
        for (unit, table), block in endpoint.blocks.items():
            await endpoint.server.async_setValues(unit, _WRITE_FUNCTION[table], block.start, list(block.values))

    def _encode(self, t_s: float) -> None:
        """Sample the model once and rewrite every block in memory."""
        values, quality = self.model.sample(t_s)
        for endpoint in self._endpoints.values():
            bit_words: dict[tuple[int, str, int], tuple[int, str]] = {}
            for device in endpoint.devices:
                for reg in device.registers:
                    unit = device.unit_id if reg.unit_id is None else reg.unit_id
                    block = endpoint.blocks[(unit, reg.table)]
                    i = self._index.get(reg.sensor)
                    value = float(values[i]) if i is not None else math.nan
                    faulty = i is None or quality[i] != Quality.GOOD
                    if reg.table in BIT_TABLES or reg.bit is not None:
                        on = math.isfinite(value) and value >= 0.5
                        self._served[reg.sensor] = (1.0 if on else 0.0, Quality.GOOD)
                        if reg.table in BIT_TABLES:
                            block.values[reg.address - block.start] = on
                        else:
                            key = (unit, reg.table, reg.address)
                            word, _ = bit_words.get(key, (0, ""))
                            order = reg.byte_order or device.byte_order
                            bit_words[key] = (word | (int(on) << reg.bit), order)
                        continue
                    encoded = encode_value(reg, device, value, faulty)
                    offset = reg.address - block.start
                    block.values[offset : offset + len(encoded.words)] = encoded.words
                    self._served[reg.sensor] = (encoded.value, encoded.quality)
            for (unit, table, address), (word, order) in bit_words.items():
                block = endpoint.blocks[(unit, table)]
                block.values[address - block.start] = _to_wire(word, 1, order, "big")[0]
