"""The Modbus source against a device hazwatch did not write (pyModbusTCP): read caps, holes, quirks, unit 255."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from quirky_device import Habits, QuirkyDevice

from collector.sources.modbus.source import ModbusSource, modbus_sources
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.loader import parse_config
from hazwatch.quality import Quality
from tests.support.waiting import metric

SITE = "quirk-plant"

# (sensor, table, address, type, engineering value the device holds); None: not in the device's map.
MAP: list[tuple[str, str, int, str, float | None]] = [
    ("TT-0", "holding", 0, "uint16", 120.0),
    ("TT-1", "holding", 1, "uint16", 121.0),
    ("TT-2", "holding", 2, "float32", 22.25),
    # holding 4 is a hole in the device's map
    ("TT-5", "holding", 5, "int16", -5.0),
    ("TT-6", "holding", 6, "uint16", 66.0),
    ("TT-7", "holding", 7, "uint16", 77.0),
    ("TT-8", "holding", 8, "float32", 88.5),
    ("TT-10", "holding", 10, "uint16", 100.0),
    # holding 11 is a hole
    ("TT-12", "holding", 12, "uint16", 112.0),
    ("TT-13", "holding", 13, "uint16", 113.0),
    ("TT-GHOST", "holding", 16, "uint16", None),  # configured, but the device has no register 16
    ("PT-0", "input", 0, "uint16", 10.0),
    ("PT-1", "input", 1, "uint16", 11.0),
]
WORDS = {"uint16": 1, "int16": 1, "float32": 2}


def site_config(port: int, **device: Any) -> HazwatchConfig:
    sensors = [
        {"id": sensor, "kind": "temperature" if sensor.startswith("TT") else "pressure", "range": [-50, 500]}
        for sensor, *_ in MAP
    ]
    registers = [
        {"sensor": sensor, "table": table, "address": address, "type": type_}
        for sensor, table, address, type_, _ in MAP
    ]
    document = {
        "sites": [
            {
                "id": SITE,
                "type": "chemical_plant",
                "areas": [{"id": "unit1", "kind": "process_unit", "sensors": sensors}],
                "devices": [
                    {
                        "id": "plc",
                        "protocol": "modbus",
                        "host": "127.0.0.1",
                        "port": port,
                        "unit_id": 255,
                        "timeout": 0.5,
                        "retries": 0,
                        "poll_interval": 0.2,
                        "registers": registers,
                        **device,
                    }
                ],
            }
        ]
    }
    return parse_config(document)


def quirky_device(habits: Habits | None = None, unmapped: frozenset[str] = frozenset({"TT-GHOST"})) -> QuirkyDevice:
    entries: dict[str, dict[int, int]] = {"holding": {}, "input": {}}
    for sensor, table, address, type_, _ in MAP:
        if sensor not in unmapped:
            entries[table][address] = WORDS[type_]
    device = QuirkyDevice(entries, habits)
    for sensor, table, address, type_, value in MAP:
        if sensor in unmapped or value is None:
            continue
        if type_ == "float32":
            device.set_float32(table, address, value)
        else:
            device.set_word(table, address, int(value))
    return device


def expected(unmapped: frozenset[str] = frozenset({"TT-GHOST"})) -> dict[str, tuple[float, int]]:
    return {
        sensor: (math.nan, Quality.FAULT) if sensor in unmapped else (value, Quality.GOOD)
        for sensor, _, _, _, value in MAP
    }


def one_source(config: HazwatchConfig) -> tuple[ModbusSource, SensorRegistry]:
    registry = SensorRegistry.from_config(config)
    [source] = modbus_sources(config, registry)
    return source, registry


def poll(source: ModbusSource, registry: SensorRegistry, polls: int = 1) -> list[dict[str, tuple[float, int]]]:
    async def scenario():
        try:
            return [await source.poll_once() for _ in range(polls)]
        finally:
            source.link.drop()

    return [
        {
            registry.sensors[slot].sensor: (value, quality)
            for slot, value, quality in zip(b.slot.tolist(), b.value.tolist(), b.quality.tolist(), strict=True)
        }
        for b in asyncio.run(scenario())
    ]


def assert_reads(read: dict[str, tuple[float, int]], want: dict[str, tuple[float, int]]) -> None:
    assert read.keys() == want.keys()
    for sensor, (value, quality) in want.items():
        got_value, got_quality = read[sensor]
        assert got_quality == quality, (sensor, got_quality, quality)
        assert (math.isnan(value) and math.isnan(got_value)) or got_value == value, (sensor, got_value, value)


def online() -> float:
    return metric("hazwatch_device_online", site=SITE, device="plc")


def test_a_device_capping_reads_at_8_with_holes_reads_every_mapped_register_and_faults_only_the_unmapped():
    with quirky_device(Habits(read_cap=8)) as device:
        source, registry = one_source(site_config(device.port))
        assert [(r.table, r.address, r.count) for r in source.requests] == [("holding", 0, 17), ("input", 0, 2)]
        [first] = poll(source, registry)
        assert_reads(first, expected())
        learned = len(source.requests)
        reads_before = len(device.seen.reads)
        second, third = poll(source, registry, polls=2)
        assert_reads(second, expected())
        assert_reads(third, expected())
    assert all(count <= 8 for _, _, count, code in device.seen.reads if code == 0)
    later = device.seen.reads[reads_before:]
    assert len(later) == 2 * learned, "later polls use the learned split: one read per learned request"
    assert [(t, a, c) for t, a, c, code in later if code] == [("holding", 16, 1)] * 2, "only the ghost refused"
    assert online() == 1
    assert metric("hazwatch_modbus_request_splits_total", site=SITE, device="plc") >= 1


def test_a_configured_read_cap_is_respected_from_the_first_request():
    with full_map_device(Habits(read_cap=8)) as device:
        source, registry = one_source(site_config(device.port, max_registers_per_request=8))
        assert max(r.count for r in source.requests) <= 8
        [read] = poll(source, registry)
    assert_reads(read, FULL_MAP)
    assert device.seen.exceptions() == []


def test_a_device_answering_every_request_with_an_exception_is_not_online():
    with quirky_device(unmapped=frozenset(sensor for sensor, *_ in MAP)) as device:
        source, registry = one_source(site_config(device.port))
        [read] = poll(source, registry)
    assert {quality for _, quality in read.values()} == {Quality.FAULT}
    assert device.seen.reads, "the device did answer"
    assert online() == 0


def test_unit_id_255_is_accepted_by_the_config_and_sent_on_the_wire():
    with quirky_device(Habits(unit_id=255)) as device:
        source, registry = one_source(site_config(device.port))
        [read] = poll(source, registry)
    assert_reads(read, expected())
    assert device.seen.units == {255}


def test_a_device_busy_right_after_connect_reads_with_a_connect_delay():
    habits = Habits(busy_after_connect=1.0)
    with quirky_device(habits) as device:
        source, registry = one_source(site_config(device.port))
        [hurried] = poll(source, registry)
    assert hurried["PT-0"][1] == Quality.FAULT, "without the pause the device answers busy"
    with quirky_device(habits) as device:
        source, registry = one_source(site_config(device.port, connect_delay=1.1))
        [read] = poll(source, registry)
    assert_reads(read, expected())


def full_map_device(habits: Habits) -> QuirkyDevice:
    """The quirky device with no holes in its map (every configured register exists)."""
    device = quirky_device(habits, unmapped=frozenset())
    device.entries["holding"].update({4: 1, 11: 1, 14: 1, 15: 1, 16: 1})
    return device


FULL_MAP = {**expected(unmapped=frozenset()), "TT-GHOST": (0.0, Quality.GOOD)}


def test_a_device_busy_between_requests_reads_with_a_request_delay():
    habits = Habits(busy_between_requests=0.4)
    settings = {"max_registers_per_request": 8}
    with full_map_device(habits) as device:
        source, registry = one_source(site_config(device.port, **settings))
        assert len(source.requests) == 4
        [hurried] = poll(source, registry)
    assert {quality for _, quality in hurried.values()} == {Quality.GOOD, Quality.FAULT}, "later requests refused"
    with full_map_device(habits) as device:
        source, registry = one_source(site_config(device.port, request_delay=0.45, **settings))
        [read] = poll(source, registry)
    assert_reads(read, FULL_MAP)
    assert device.seen.exceptions() == []


def test_a_device_answering_only_single_entry_reads_needs_no_learning_with_request_per_register():
    with quirky_device(Habits(exact_entries=True)) as device:
        source, registry = one_source(site_config(device.port, request_per_register=True))
        assert len(source.requests) == len(MAP)
        [read] = poll(source, registry)
    assert_reads(read, expected())
    assert [(t, a) for t, a, _, code in device.seen.reads if code] == [("holding", 16)]


def test_a_device_that_stops_answering_a_long_connection_reads_on_every_poll_with_close_after_poll():
    with full_map_device(Habits(requests_per_connection=2)) as device:
        source, registry = one_source(site_config(device.port))
        assert len(source.requests) == 2, "one holding and one input request per poll"
        fresh, stale = poll(source, registry, polls=2)
        assert_reads(fresh, FULL_MAP)
        assert {quality for _, quality in stale.values()} == {Quality.OFFLINE}, "the second poll finds it mute"
    with full_map_device(Habits(requests_per_connection=2)) as device:
        source, registry = one_source(site_config(device.port, close_after_poll=True))
        polls = poll(source, registry, polls=3)
    for read in polls:
        assert_reads(read, FULL_MAP)
    assert len(device.seen.connections) == 3
