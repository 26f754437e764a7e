"""Turn a Modbus device's register map into as few read requests as the protocol allows.

Polling cost is dominated by round trips, not bytes: a substation on a 9600-baud line answers
one 60-register request far sooner than ten 6-register ones. So registers of one unit id and
table are merged into requests up to the Modbus limits (125 registers, 2000 bits), reading
through gaps of up to `max_gap` unused registers. Everything a response needs to be decoded
(which words feed which sensor, in which order) is worked out here once as numpy index arrays,
so decoding a response is a handful of vectorised operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Literal

import numpy as np

from hazwatch.config.schema import BIT_TABLES, REGISTER_WORDS, ModbusDevice, ModbusRegister

Table = Literal["holding", "input", "coil", "discrete"]

MAX_REGISTERS_PER_REQUEST = 125
"""Modbus limit for function codes 3 and 4 (a 256-byte ADU)."""
MAX_BITS_PER_REQUEST = 2000
"""Modbus limit for function codes 1 and 2."""
BITS_PER_GAP_REGISTER = 16
"""In bit tables `max_gap` counts registers' worth of bits: 16 unused coils cost what one register costs."""

NUMPY_CODE: dict[str, str] = {
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "float32": "f4",
    "int64": "i8",
    "uint64": "u8",
    "float64": "f8",
}
"""numpy dtype code per register type; decoding views big-endian bytes as `>` + code."""


@dataclass(frozen=True, slots=True)
class ResolvedRegister:
    """A register map entry with the device defaults applied (unit id, byte and word order)."""

    sensor: str
    unit_id: int
    table: Table
    address: int
    type: str
    bit: int | None
    byte_order: str
    word_order: str
    scale: float
    offset: float
    invalid: tuple[int, ...]

    @property
    def words(self) -> int:
        """Elements this entry spans in its table (a coil or discrete input is one element)."""
        return 1 if self.table in BIT_TABLES else REGISTER_WORDS[self.type]


def resolve(device: ModbusDevice, register: ModbusRegister) -> ResolvedRegister:
    return ResolvedRegister(
        sensor=register.sensor,
        unit_id=device.unit_id if register.unit_id is None else register.unit_id,
        table=register.table,
        address=register.address,
        type=register.type,
        bit=register.bit,
        byte_order=register.byte_order or device.byte_order,
        word_order=register.word_order or device.word_order,
        scale=register.scale,
        offset=register.offset,
        invalid=tuple(register.invalid),
    )


@dataclass(frozen=True, slots=True)
class DecodeGroup:
    """Sensors of one request that decode identically: one gather, one byte swap, one view.

    `word_index` is (n, words) offsets into the response, already arranged most significant word
    first, so word order costs nothing at decode time. `rows` are the sensors' positions in the
    request's output arrays.
    """

    kind: Literal["value", "register_bit", "bit"]
    type: str
    byte_order: str
    rows: np.ndarray
    word_index: np.ndarray
    bit: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    sentinels: np.ndarray
    """(n, m) unsigned raw bit patterns that mean 'no valid reading'; padded where `has_sentinel` is False."""
    has_sentinel: np.ndarray


@dataclass(frozen=True, slots=True)
class ReadRequest:
    unit_id: int
    table: Table
    address: int
    count: int
    sensors: tuple[str, ...]
    slots: np.ndarray
    """Registry slot of each sensor, in output order (int32)."""
    groups: tuple[DecodeGroup, ...]
    registers: tuple[ResolvedRegister, ...]
    """The map entries it reads, kept so a request the device refuses can be split (`split_request`)."""

    @property
    def is_bits(self) -> bool:
        return self.table in BIT_TABLES

    @property
    def splittable(self) -> bool:
        return len(self.registers) > 1


def _word_index(reg: ResolvedRegister, start: int) -> list[int]:
    words = list(range(reg.address - start, reg.address - start + reg.words))
    return words[::-1] if reg.word_order == "little" else words


def _sentinel_patterns(reg: ResolvedRegister) -> list[int]:
    """Sentinels as unsigned bit patterns, so -32768 and 0x8000 name the same int16 raw value."""
    bits = 16 * REGISTER_WORDS[reg.type]
    return [value % (1 << bits) for value in reg.invalid]


def _group_key(reg: ResolvedRegister) -> tuple[str, str, str]:
    if reg.table in BIT_TABLES:
        return ("bit", "bool", "big")
    if reg.bit is not None:
        return ("register_bit", "uint16", reg.byte_order)
    return ("value", reg.type, reg.byte_order)


def _build_group(key: tuple[str, str, str], members: list[tuple[int, ResolvedRegister]], start: int) -> DecodeGroup:
    kind, type_, byte_order = key
    width = max(1, max(len(reg.invalid) for _, reg in members))
    sentinels = np.zeros((len(members), width), dtype=np.uint64)
    has_sentinel = np.zeros((len(members), width), dtype=bool)
    if kind == "value":
        for i, (_, reg) in enumerate(members):
            patterns = _sentinel_patterns(reg)
            sentinels[i, : len(patterns)] = patterns
            has_sentinel[i, : len(patterns)] = True
    return DecodeGroup(
        kind=kind,  # type: ignore[arg-type]
        type=type_,
        byte_order=byte_order,
        rows=np.array([row for row, _ in members], dtype=np.intp),
        word_index=np.array([_word_index(reg, start) for _, reg in members], dtype=np.intp),
        bit=np.array([reg.bit or 0 for _, reg in members], dtype=np.uint16),
        scale=np.array([reg.scale for _, reg in members], dtype=np.float64),
        offset=np.array([reg.offset for _, reg in members], dtype=np.float64),
        sentinels=sentinels,
        has_sentinel=has_sentinel,
    )


def _build_request(regs: list[ResolvedRegister], slots: Mapping[str, int]) -> ReadRequest:
    start = min(r.address for r in regs)
    end = max(r.address + r.words for r in regs)
    keyed = sorted(enumerate(regs), key=lambda item: _group_key(item[1]))
    groups = tuple(
        _build_group(key, list(members), start) for key, members in groupby(keyed, key=lambda i: _group_key(i[1]))
    )
    return ReadRequest(
        unit_id=regs[0].unit_id,
        table=regs[0].table,
        address=start,
        count=end - start,
        sensors=tuple(r.sensor for r in regs),
        slots=np.array([slots.get(r.sensor, -1) for r in regs], dtype=np.int32),
        groups=groups,
        registers=tuple(regs),
    )


def _merge(regs: list[ResolvedRegister], limit: int, max_gap: int) -> list[list[ResolvedRegister]]:
    """Greedy left-to-right merge; optimal for a sorted map since every request must start at a register."""
    runs: list[list[ResolvedRegister]] = []
    run_start = run_end = 0
    for reg in sorted(regs, key=lambda r: (r.address, r.bit or 0)):
        reg_end = reg.address + reg.words
        if runs and reg.address - run_end <= max_gap and max(run_end, reg_end) - run_start <= limit:
            runs[-1].append(reg)
            run_end = max(run_end, reg_end)
            continue
        runs.append([reg])
        run_start, run_end = reg.address, reg_end
    return runs


def split_request(request: ReadRequest) -> tuple[ReadRequest, ReadRequest]:
    """Two requests reading the first and second half of `request`'s registers (it must be `splittable`).

    Devices answer exception 2 to a read through a hole in their map and exception 3 to a read longer
    than they support; halving isolates the hole or gets under the cap in log2(n) steps, and each half
    spans only its own registers, so the gap that held the hole is no longer read.
    """
    slots = dict(zip(request.sensors, request.slots.tolist(), strict=True))
    middle = len(request.registers) // 2
    return _build_request(list(request.registers[:middle]), slots), _build_request(
        list(request.registers[middle:]), slots
    )


def plan_requests(device: ModbusDevice, slots: Mapping[str, int] | None = None) -> list[ReadRequest]:
    """Read requests covering every register of `device`, per (unit id, table), merged within the limits.

    The limits are the device's `max_registers_per_request` / `max_bits_per_request`; with
    `request_per_register` each map entry is its own request. `slots` maps sensor id to registry
    slot; sensors missing from it get slot -1.
    """
    resolved = [resolve(device, reg) for reg in device.registers]
    by_target: dict[tuple[int, str], list[ResolvedRegister]] = {}
    for reg in resolved:
        by_target.setdefault((reg.unit_id, reg.table), []).append(reg)
    requests: list[ReadRequest] = []
    for (_, table), regs in sorted(by_target.items()):
        if device.request_per_register:
            runs = [[reg] for reg in sorted(regs, key=lambda r: (r.address, r.bit or 0))]
        elif table in BIT_TABLES:
            runs = _merge(regs, device.max_bits_per_request, device.max_gap * BITS_PER_GAP_REGISTER)
        else:
            runs = _merge(regs, device.max_registers_per_request, device.max_gap)
        requests.extend(_build_request(run, slots or {}) for run in runs)
    return requests
