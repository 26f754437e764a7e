"""Register maps become as few read requests as the Modbus limits and the device's max_gap allow."""

from __future__ import annotations

import numpy as np

from collector.sources.modbus.plan import (
    MAX_BITS_PER_REQUEST,
    MAX_REGISTERS_PER_REQUEST,
    plan_requests,
    split_request,
)
from hazwatch.config.schema import ModbusDevice


def device(registers: list[dict], **settings) -> ModbusDevice:
    return ModbusDevice.model_validate(
        {"id": "d", "protocol": "modbus", "host": "127.0.0.1", "registers": registers, **settings}
    )


def spans(requests) -> list[tuple[int, str, int, int]]:
    return [(r.unit_id, r.table, r.address, r.count) for r in requests]


def test_adjacent_registers_of_one_unit_and_table_are_read_in_one_request():
    regs = [{"sensor": f"s{i}", "address": 2 * i, "type": "float32"} for i in range(10)]
    assert spans(plan_requests(device(regs))) == [(1, "holding", 0, 20)]


def test_gaps_up_to_max_gap_are_read_through_and_wider_gaps_split():
    regs = [
        {"sensor": "a", "address": 0},
        {"sensor": "b", "address": 5},  # gap of 4 unused registers: read through
        {"sensor": "c", "address": 16},  # gap of 10: new request
    ]
    assert spans(plan_requests(device(regs, max_gap=4))) == [(1, "holding", 0, 6), (1, "holding", 16, 1)]
    assert spans(plan_requests(device(regs, max_gap=10))) == [(1, "holding", 0, 17)]
    assert len(plan_requests(device(regs, max_gap=0))) == 3


def test_no_register_request_exceeds_125_registers_and_every_register_is_covered():
    rng = np.random.default_rng(3)
    addresses = np.sort(rng.choice(np.arange(0, 3000, 4), size=300, replace=False))
    regs = [{"sensor": f"s{i}", "address": int(a), "type": "float64"} for i, a in enumerate(addresses)]
    requests = plan_requests(device(regs, max_gap=8))
    assert all(r.count <= MAX_REGISTERS_PER_REQUEST for r in requests)
    covered = {s for r in requests for s in r.sensors}
    assert covered == {f"s{i}" for i in range(len(addresses))}
    for r in requests:
        for reg in regs:
            if reg["sensor"] in r.sensors:
                assert r.address <= reg["address"] and reg["address"] + 4 <= r.address + r.count


def test_a_long_run_of_registers_is_cut_at_exactly_125():
    regs = [{"sensor": f"s{i}", "address": i} for i in range(300)]
    assert [r.count for r in plan_requests(device(regs))] == [125, 125, 50]


def test_a_multi_word_value_is_never_split_across_requests():
    regs = [{"sensor": f"s{i}", "address": 2 * i, "type": "float32"} for i in range(100)]
    requests = plan_requests(device(regs))
    assert [r.count for r in requests] == [124, 76]


def test_coils_merge_up_to_2000_bits_and_gaps_count_in_bits():
    regs = [{"sensor": f"c{i}", "table": "coil", "address": i, "type": "bool"} for i in range(4500)]
    assert [r.count for r in plan_requests(device(regs))] == [MAX_BITS_PER_REQUEST, MAX_BITS_PER_REQUEST, 500]
    sparse = [
        {"sensor": "a", "table": "discrete", "address": 0, "type": "bool"},
        {"sensor": "b", "table": "discrete", "address": 100, "type": "bool"},
        {"sensor": "c", "table": "discrete", "address": 300, "type": "bool"},
    ]
    # max_gap 8 registers' worth of bits = 128 unused bits read through
    assert spans(plan_requests(device(sparse, max_gap=8))) == [(1, "discrete", 0, 101), (1, "discrete", 300, 1)]


def test_unit_ids_and_tables_never_share_a_request():
    regs = [
        {"sensor": "a", "address": 0},
        {"sensor": "b", "address": 1, "unit_id": 2},
        {"sensor": "c", "address": 2, "table": "input"},
        {"sensor": "d", "address": 3, "table": "coil", "type": "bool"},
    ]
    assert sorted(spans(plan_requests(device(regs)))) == [
        (1, "coil", 3, 1),
        (1, "holding", 0, 1),
        (1, "input", 2, 1),
        (2, "holding", 1, 1),
    ]


def test_bits_of_one_register_share_its_word():
    regs = [{"sensor": f"b{k}", "address": 30, "type": "bool", "bit": k} for k in (0, 1, 4)]
    [request] = plan_requests(device(regs))
    assert (request.address, request.count) == (30, 1)


def test_each_request_carries_the_registry_slots_of_its_sensors_in_output_order():
    regs = [{"sensor": "x", "address": 1}, {"sensor": "y", "address": 0}]
    [request] = plan_requests(device(regs), {"x": 7, "y": 3})
    assert dict(zip(request.sensors, request.slots.tolist(), strict=True)) == {"x": 7, "y": 3}


def test_a_device_read_cap_bounds_every_request_of_registers_and_of_bits():
    regs = [{"sensor": f"s{i}", "address": 2 * i, "type": "float32"} for i in range(10)]
    bits = [{"sensor": f"c{i}", "table": "coil", "address": i, "type": "bool"} for i in range(100)]
    requests = plan_requests(device(regs + bits, max_registers_per_request=8, max_bits_per_request=64))
    assert [r.count for r in requests if r.table == "holding"] == [8, 8, 4]
    assert [r.count for r in requests if r.table == "coil"] == [64, 36]


def test_request_per_register_never_merges_even_adjacent_entries():
    regs = [
        {"sensor": "a", "address": 0},
        {"sensor": "b", "address": 1, "type": "float32"},
        {"sensor": "c", "address": 3, "bit": 0, "type": "bool"},
        {"sensor": "d", "address": 3, "bit": 1, "type": "bool"},
    ]
    assert spans(plan_requests(device(regs, request_per_register=True))) == [
        (1, "holding", 0, 1), (1, "holding", 1, 2), (1, "holding", 3, 1), (1, "holding", 3, 1)
    ]  # fmt: skip


def test_a_split_request_reads_only_its_own_registers_and_keeps_each_sensor_once():
    regs = [{"sensor": s, "address": a} for s, a in (("a", 0), ("b", 1), ("c", 7), ("d", 9))]
    [request] = plan_requests(device(regs), {"a": 10, "b": 11, "c": 12, "d": 13})
    first, second = split_request(request)
    assert spans([first, second]) == [(1, "holding", 0, 2), (1, "holding", 7, 3)]
    assert [*first.slots.tolist(), *second.slots.tolist()] == request.slots.tolist()
    assert not split_request(first)[0].splittable
