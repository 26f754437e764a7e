"""A Modbus TCP device we did not write: a pyModbusTCP server with the habits of real field devices.

pyModbusTCP is a separate Modbus implementation from the pymodbus hazwatch polls with, so framing,
exception responses and unit-id handling are checked against someone else's reading of the spec.
Its DataHandler is subclassed to behave like old gas controllers and small PLCs do: a map with
holes (exception 2), a read cap (exception 3), a busy period after connect and between requests
(exception 6), reads that must hit exactly one map entry, and a stack that stops answering a
connection after a few requests.
"""

from __future__ import annotations

import struct
import threading
import time
from dataclasses import dataclass, field

from pyModbusTCP.constants import EXP_DATA_ADDRESS, EXP_DATA_VALUE, EXP_NONE, EXP_SLAVE_DEVICE_BUSY
from pyModbusTCP.server import DataBank, DataHandler, ModbusServer

from collector.app.localservices import free_port


@dataclass
class Habits:
    read_cap: int = 125
    """Longest read it answers; longer ones get exception 3."""
    busy_after_connect: float = 0.0
    """Seconds after a connect during which it answers exception 6."""
    busy_between_requests: float = 0.0
    """Seconds after an answer during which it answers exception 6."""
    exact_entries: bool = False
    """Only a read of exactly one map entry is answered; anything else gets exception 2."""
    requests_per_connection: int | None = None
    """After this many requests on one connection it never answers on it again."""
    unit_id: int | None = None
    """Answers only this unit id (others: no answer)."""


@dataclass
class Seen:
    """What the device saw, for the test to assert on."""

    reads: list[tuple[str, int, int, int]] = field(default_factory=list)
    """(table, address, count, exception code or 0) of every read, in order."""
    connections: set[tuple[str, int]] = field(default_factory=set)
    units: set[int] = field(default_factory=set)

    def exceptions(self, since: int = 0) -> list[tuple[str, int, int, int]]:
        return [read for read in self.reads[since:] if read[3]]


class _Handler(DataHandler):
    def __init__(self, bank: DataBank, entries: dict[str, dict[int, int]], habits: Habits, seen: Seen) -> None:
        super().__init__(bank)
        self.entries = entries
        self.habits = habits
        self.seen = seen
        self._lock = threading.Lock()
        self.stopped = threading.Event()
        self._connected_at: dict[tuple[str, int], float] = {}
        self._requests: dict[tuple[str, int], int] = {}
        self._last_answer: dict[tuple[str, int], float] = {}

    def connected(self, client: tuple[str, int]) -> None:
        with self._lock:
            self._connected_at[client] = time.monotonic()
            self.seen.connections.add(client)

    def _mapped(self, table: str) -> set[int]:
        return {word for start, words in self.entries[table].items() for word in range(start, start + words)}

    def _refusal(self, table: str, address: int, count: int, info: ModbusServer.ServerInfo) -> int | None:
        """None: do not answer at all; 0: answer with data; else the exception code."""
        client = (info.client.address, info.client.port)
        now = time.monotonic()
        habits = self.habits
        self.seen.units.add(info.recv_frame.mbap.unit_id)
        if habits.unit_id is not None and info.recv_frame.mbap.unit_id != habits.unit_id:
            return None
        connected_at = self._connected_at[client]
        self._requests[client] = self._requests.get(client, 0) + 1
        if habits.requests_per_connection is not None and self._requests[client] > habits.requests_per_connection:
            return None
        if now - connected_at < habits.busy_after_connect:
            return EXP_SLAVE_DEVICE_BUSY
        if now - self._last_answer.get(client, -1e9) < habits.busy_between_requests:
            return EXP_SLAVE_DEVICE_BUSY
        if count > habits.read_cap:
            return EXP_DATA_VALUE
        if habits.exact_entries and self.entries[table].get(address) != count:
            return EXP_DATA_ADDRESS
        if not set(range(address, address + count)) <= self._mapped(table):
            return EXP_DATA_ADDRESS
        return EXP_NONE

    def _read(self, table: str, address: int, count: int, info: ModbusServer.ServerInfo, read) -> DataHandler.Return:
        with self._lock:
            code = self._refusal(table, address, count, info)
            client = (info.client.address, info.client.port)
        if code is None:
            self.stopped.wait(3600)  # a device that swallowed the request: the client must time out
        with self._lock:
            self.seen.reads.append((table, address, count, code))
            self._last_answer[client] = time.monotonic()
        if code != EXP_NONE:
            return DataHandler.Return(exp_code=code)
        return DataHandler.Return(exp_code=EXP_NONE, data=read(address, count))

    def read_h_regs(self, address, count, srv_info):
        return self._read("holding", address, count, srv_info, self.data_bank.get_holding_registers)

    def read_i_regs(self, address, count, srv_info):
        return self._read("input", address, count, srv_info, self.data_bank.get_input_registers)


class QuirkyDevice:
    """A running pyModbusTCP server on a free 127.0.0.1 port serving `entries` (table -> address -> words)."""

    def __init__(self, entries: dict[str, dict[int, int]], habits: Habits | None = None) -> None:
        self.port = free_port()
        self.seen = Seen()
        self.bank = DataBank()
        self.entries = {"holding": {}, "input": {}, **entries}
        self.handler = _Handler(self.bank, self.entries, habits or Habits(), self.seen)
        self.server = ModbusServer("127.0.0.1", self.port, no_block=True, data_hdl=self.handler)
        handler = self.handler

        class Service(ModbusServer.ModbusService):
            """Notes the moment of each TCP connect, which the data handler is never told about."""

            def setup(self) -> None:
                super().setup()
                handler.connected(self.client_address)

        self.server.ModbusService = Service

    def set_float32(self, table: str, address: int, value: float) -> None:
        high, low = struct.unpack(">HH", struct.pack(">f", value))
        self._set(table, address, [high, low])

    def set_word(self, table: str, address: int, raw: int) -> None:
        self._set(table, address, [raw & 0xFFFF])

    def _set(self, table: str, address: int, words: list[int]) -> None:
        if table == "holding":
            self.bank.set_holding_registers(address, words)
        else:
            self.bank.set_input_registers(address, words)

    def __enter__(self) -> QuirkyDevice:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.stopped.set()
        self.server.stop()
