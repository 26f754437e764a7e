"""The edge -> core batch format: columns survive the trip exactly, and anything else is refused with a reason."""

from __future__ import annotations

import numpy as np
import pytest

from hazwatch.batchwire import BatchWireError, decode, encode, unit_topic


def _sample() -> bytes:
    return encode(
        "hengda-chem",
        ["R101-TT-A", "LD-NH3-1"],
        np.array([0, 1, 1]),
        np.array([1_700_000_000_123_456_789, 1_700_000_000_200_000_000, 1_700_000_001_000_000_000]),
        np.array([151.25, np.nan, 72.3]),
        np.array([0, 2, 0]),
    )


def test_a_batch_decodes_to_the_same_columns_with_nanosecond_times_and_nan_values() -> None:
    wire = decode(_sample())
    assert wire.site == "hengda-chem" and wire.sensors == ["R101-TT-A", "LD-NH3-1"]
    assert wire.index.tolist() == [0, 1, 1]
    assert wire.time_ns.tolist() == [1_700_000_000_123_456_789, 1_700_000_000_200_000_000, 1_700_000_001_000_000_000]
    assert wire.value[0] == 151.25 and np.isnan(wire.value[1]) and wire.value[2] == 72.3
    assert wire.quality.tolist() == [0, 2, 0]


def test_a_reading_costs_19_bytes_on_the_wire_after_the_header() -> None:
    one = len(encode("s", ["a"], np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1)))
    thousand = len(encode("s", ["a"], np.zeros(1001), np.zeros(1001), np.zeros(1001), np.zeros(1001)))
    assert thousand - one == 1000 * 19


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"value": 1}', "not_a_batch"),
        (b"HZRB\x02\x00\x00\x00", "batch_version"),
        (_sample()[:-3], "truncated_batch"),
        (b"HZ", "truncated_batch"),
    ],
)
def test_anything_but_a_whole_version_1_batch_is_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(BatchWireError) as refused:
        decode(payload)
    assert refused.value.reason == reason


def test_a_units_topic_carries_the_format_version() -> None:
    assert unit_topic("hazwatch/batches/", "hengda-chem/LD-CO") == "hazwatch/batches/v1/hengda-chem/LD-CO"
