"""Whole responses decode exactly, for every register type, byte order and word order the config allows.

Expected registers are built here with `struct`, independently of the numpy decoder under test.
"""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
import pytest

from collector.sources.modbus.decode import decode_response
from collector.sources.modbus.plan import plan_requests
from hazwatch.config.schema import ModbusDevice
from hazwatch.quality import Quality

STRUCT = {
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "uint64": "Q",
    "float32": "f",
    "float64": "d",
}
ORDERS = ["big", "little"]


def wire_registers(type_: str, raw: int | float, byte_order: str, word_order: str) -> list[int]:
    """Registers a device sends: big-endian bytes rearranged by word order, then byte order within each word."""
    data = struct.pack(">" + STRUCT[type_], raw)
    pairs = [data[i : i + 2] for i in range(0, len(data), 2)]
    if word_order == "little":
        pairs.reverse()
    if byte_order == "little":
        pairs = [p[::-1] for p in pairs]
    return [int.from_bytes(p, "big") for p in pairs]


def raw_samples(type_: str, rng: np.random.Generator, n: int = 40) -> list[int | float]:
    if type_.startswith("float"):
        finite = np.finfo(np.float32 if type_ == "float32" else np.float64)
        values = [0.0, -0.0, 1.5, -2.25, float(finite.max), float(finite.tiny), float(finite.min)]
        values += [float(np.float32(v)) if type_ == "float32" else float(v) for v in rng.normal(0, 1e3, n)]
        return values
    info = np.iinfo(np.dtype(STRUCT[type_]))
    edges = [int(info.min), int(info.max), 0, 1]
    return edges + [int(v) for v in rng.integers(info.min, info.max, n, dtype=np.dtype(STRUCT[type_]), endpoint=True)]


def device_for(type_: str, count: int, byte_order: str, word_order: str, **register) -> ModbusDevice:
    words = struct.calcsize(STRUCT[type_]) // 2
    return ModbusDevice.model_validate(
        {
            "id": "d",
            "protocol": "modbus",
            "host": "127.0.0.1",
            "byte_order": byte_order,
            "word_order": word_order,
            "registers": [{"sensor": f"s{i}", "address": i * words, "type": type_, **register} for i in range(count)],
        }
    )


def test_the_test_encoder_matches_struct_little_endian_for_fully_little_devices():
    assert wire_registers("float32", 1.5, "little", "little") == [
        int.from_bytes(b, "big") for b in (struct.pack("<f", 1.5)[:2], struct.pack("<f", 1.5)[2:])
    ]


@pytest.mark.parametrize("word_order", ORDERS)
@pytest.mark.parametrize("byte_order", ORDERS)
@pytest.mark.parametrize("type_", list(STRUCT))
def test_every_type_and_order_decodes_exactly(type_: str, byte_order: str, word_order: str):
    raws = raw_samples(type_, np.random.default_rng(zlib.crc32(f"{type_}{byte_order}{word_order}".encode())))
    requests = plan_requests(device_for(type_, len(raws), byte_order, word_order, invalid=[]))
    registers = [w for raw in raws for w in wire_registers(type_, raw, byte_order, word_order)]

    decoded: dict[str, float] = {}
    for request in requests:  # 64-bit samples span more than one 125-register request
        values, quality = decode_response(request, registers[request.address : request.address + request.count])
        assert (quality == Quality.GOOD).all()
        decoded.update(zip(request.sensors, values.tolist(), strict=True))

    assert decoded == {f"s{i}": float(raw) for i, raw in enumerate(raws)}


@pytest.mark.parametrize("type_", ["int16", "uint32", "float32", "int64"])
def test_scale_and_offset_give_engineering_units(type_: str):
    raws = [0, 1, 123, 1000] if not type_.startswith("int") else [-5, 0, 7, 1234]
    [request] = plan_requests(device_for(type_, len(raws), "big", "big", scale=0.1, offset=-40.0))
    registers = [w for raw in raws for w in wire_registers(type_, raw, "big", "big")]
    values, _ = decode_response(request, registers)
    np.testing.assert_array_equal(values, np.array([float(r) * 0.1 + -40.0 for r in raws]))


@pytest.mark.parametrize(
    ("type_", "sentinel", "raw"),
    [
        ("int16", -32768, -32768),
        ("int16", 0x8000, -32768),  # the same sentinel written as the unsigned pattern
        ("uint16", 0xFFFF, 0xFFFF),
        ("int32", -1, -1),
        ("uint64", 2**64 - 1, 2**64 - 1),
        ("float32", 0x7FC00000, math.nan),
    ],
)
def test_an_invalid_sentinel_is_a_fault_and_never_a_number(type_: str, sentinel: int, raw: int | float):
    good_raw = 12
    [request] = plan_requests(device_for(type_, 2, "little", "little", invalid=[sentinel], scale=0.5))
    registers = wire_registers(type_, raw, "little", "little") + wire_registers(type_, good_raw, "little", "little")

    values, quality = decode_response(request, registers)

    assert math.isnan(values[0]) and quality[0] == Quality.FAULT
    assert values[1] == good_raw * 0.5 and quality[1] == Quality.GOOD


def test_a_float_that_is_not_finite_is_a_fault_even_without_a_sentinel():
    raws = [math.inf, -math.inf, math.nan, 2.5]
    [request] = plan_requests(device_for("float64", 4, "big", "little"))
    values, quality = decode_response(request, [w for r in raws for w in wire_registers("float64", r, "big", "little")])
    assert quality.tolist() == [Quality.FAULT] * 3 + [Quality.GOOD]
    assert np.isnan(values[:3]).all() and values[3] == 2.5


@pytest.mark.parametrize("byte_order", ORDERS)
def test_single_bits_of_a_register_follow_the_byte_order(byte_order: str):
    word = 0b1000_0000_0001_0010  # bits 1, 4 and 15 set
    bits = [0, 1, 4, 8, 15]
    [request] = plan_requests(
        ModbusDevice.model_validate(
            {
                "id": "d",
                "protocol": "modbus",
                "host": "h",
                "byte_order": byte_order,
                "registers": [{"sensor": f"b{k}", "address": 3, "type": "bool", "bit": k} for k in bits],
            }
        )
    )
    values, _ = decode_response(request, wire_registers("uint16", word, byte_order, "big"))
    assert dict(zip(request.sensors, values.tolist(), strict=True)) == {f"b{k}": float((word >> k) & 1) for k in bits}


@pytest.mark.parametrize("table", ["coil", "discrete"])
def test_coils_and_discrete_inputs_decode_to_zero_and_one(table: str):
    pattern = [True, False, False, True, True, False, True, False, True]
    regs = [{"sensor": f"c{i}", "table": table, "address": 10 + i, "type": "bool"} for i in range(len(pattern))]
    [request] = plan_requests(
        ModbusDevice.model_validate({"id": "d", "protocol": "modbus", "host": "h", "registers": regs})
    )
    response_bits = [*pattern, False, False, False, False, False, False, False]  # padded to a byte, as on the wire
    values, quality = decode_response(request, response_bits)
    assert values.tolist() == [float(b) for b in pattern]
    assert (quality == Quality.GOOD).all()


def test_mixed_types_in_one_response_decode_in_their_groups():
    device = ModbusDevice.model_validate(
        {
            "id": "d",
            "protocol": "modbus",
            "host": "h",
            "word_order": "little",
            "registers": [
                {"sensor": "f", "address": 0, "type": "float32"},
                {"sensor": "i", "address": 2, "type": "int16", "scale": 0.1, "byte_order": "little"},
                {"sensor": "u", "address": 4, "type": "uint64", "word_order": "big"},
                {"sensor": "bit", "address": 3, "type": "bool", "bit": 2},
            ],
        }
    )
    [request] = plan_requests(device)
    registers = (
        wire_registers("float32", 0.75, "big", "little")
        + wire_registers("int16", -123, "little", "big")
        + [0b100]
        + wire_registers("uint64", 2**40 + 5, "big", "big")
    )
    values, _ = decode_response(request, registers)
    assert dict(zip(request.sensors, values.tolist(), strict=True)) == {
        "f": 0.75,
        "i": -123 * 0.1,
        "bit": 1.0,
        "u": float(2**40 + 5),
    }


def test_a_float_scaled_past_the_float_range_is_a_fault_never_a_good_infinity():
    [request] = plan_requests(device_for("float64", 2, "big", "big", scale=10.0))
    registers = [w for raw in (1e308, 2.5) for w in wire_registers("float64", raw, "big", "big")]
    values, quality = decode_response(request, registers)
    assert quality.tolist() == [Quality.FAULT, Quality.GOOD]
    assert math.isnan(values[0]) and values[1] == 25.0
