"""Decode one whole Modbus response into engineering values and quality codes with numpy.

Each DecodeGroup of a request (sensors sharing a type and byte order) is decoded with one
gather, one optional byte swap and one dtype view, whatever the number of sensors. A raw value
equal to one of the sensor's `invalid` sentinels, or a float that is NaN or infinite, becomes
Quality.FAULT with a NaN value: a device saying "no valid reading" must never reach a chart or a
detector as a number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from collector.sources.modbus.plan import NUMPY_CODE, DecodeGroup, ReadRequest
from hazwatch.quality import Quality


def _big_endian_words(registers: np.ndarray, group: DecodeGroup) -> np.ndarray:
    """(n, words) big-endian uint16, most significant word first, whatever the device's orders."""
    words = registers[group.word_index]
    if group.byte_order == "little":
        words = words.byteswap()
    return words.astype(">u2")


def _decode_values(registers: np.ndarray, group: DecodeGroup) -> tuple[np.ndarray, np.ndarray]:
    words = _big_endian_words(registers, group)
    code = NUMPY_CODE[group.type]
    raw = words.view(">" + code).reshape(-1)
    pattern = words.view(f">u{words.shape[1] * 2}").reshape(-1).astype(np.uint64)
    invalid = ((pattern[:, None] == group.sentinels) & group.has_sentinel).any(axis=1)
    with np.errstate(invalid="ignore"):  # a signalling NaN from the device: flagged FAULT below, not a warning
        values = raw.astype(np.float64)
    if code.startswith("f"):
        invalid |= ~np.isfinite(values)
    return values, invalid


def _decode_register_bits(registers: np.ndarray, group: DecodeGroup) -> np.ndarray:
    word = _big_endian_words(registers, group)[:, 0].astype(np.uint16)
    return ((word >> group.bit) & 1).astype(np.float64)


def decode_response(
    request: ReadRequest, data: Sequence[int] | Sequence[bool] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Values (float64) and qualities (uint8) of `request.sensors`, in that order.

    `data` is the response's registers (uint16) or bits, starting at `request.address`.
    """
    n = len(request.sensors)
    values = np.empty(n, dtype=np.float64)
    quality = np.full(n, Quality.GOOD, dtype=np.uint8)
    if request.is_bits:
        bits = np.asarray(data, dtype=bool)
        for group in request.groups:
            values[group.rows] = bits[group.word_index[:, 0]]
        return values, quality
    registers = np.asarray(data, dtype=np.uint16)
    for group in request.groups:
        if group.kind == "register_bit":
            values[group.rows] = _decode_register_bits(registers, group)
            continue
        raw, invalid = _decode_values(registers, group)
        with np.errstate(invalid="ignore", over="ignore"):
            scaled = raw * group.scale + group.offset
        invalid |= ~np.isfinite(scaled)  # a huge float64 scaled past the float range is no reading either
        scaled[invalid] = np.nan
        values[group.rows] = scaled
        quality[group.rows[invalid]] = Quality.FAULT
    return values, quality
