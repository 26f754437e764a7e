"""Which worker owns which sensor: stable everywhere, and never splitting what a rule or a device needs whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hazwatch.config import HazwatchConfig
from hazwatch.config.partition import (
    PartitionSpec,
    device_sensors,
    owned_sensors,
    partition_sizes,
    stable_bucket,
    unit_keys,
)


def _by(config: HazwatchConfig, by: str) -> HazwatchConfig:
    return config.model_copy(update={"partitioning": config.partitioning.model_copy(update={"by": by})})


def _assignment_in_a_fresh_interpreter(hash_seed: str) -> dict[str, int]:
    code = (
        "import json; from hazwatch.config.partition import stable_bucket; "
        "print(json.dumps({f'site-{i}': stable_bucket(f'site-{i}', 7) for i in range(200)}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout)


def test_the_partition_of_a_key_is_the_same_in_every_process_whatever_its_hash_seed() -> None:
    here = {f"site-{i}": stable_bucket(f"site-{i}", 7) for i in range(200)}
    assert _assignment_in_a_fresh_interpreter("1") == here
    assert _assignment_in_a_fresh_interpreter("4242") == here
    assert set(here.values()) == set(range(7)), "200 sites reach every one of 7 partitions"


@pytest.mark.parametrize("by", ["site", "device"])
@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_every_sensor_belongs_to_exactly_one_partition(mine_config, plant_config, by, count) -> None:
    for config in (_by(mine_config, by), _by(plant_config, by)):
        owners: dict[tuple[str, str], list[int]] = {}
        for k in range(count):
            for sensor in owned_sensors(config, PartitionSpec(k, count)):
                owners.setdefault(sensor, []).append(k)
        assert set(owners) == set(unit_keys(config))
        assert all(len(ks) == 1 for ks in owners.values())
        assert sum(partition_sizes(config, count)) == len(owners)


@pytest.mark.parametrize("count", [2, 3, 4, 7])
def test_by_device_keeps_every_device_group_and_airflow_path_in_one_partition(mine_config, plant_config, count):
    for config in (_by(mine_config, "device"), _by(plant_config, "device")):
        keys = unit_keys(config)
        for site in config.sites:
            together = [device_sensors(site, device) for device in site.devices]
            together += [
                [*g.model_dump(include={"methane", "air_velocity", "temperature", "pressure"}).values(),
                 *getattr(g, "sensors", [])]
                for g in site.groups
            ]
            together += [path for area in site.areas for path in area.airflow_paths]
            for members in together:
                buckets = {stable_bucket(keys[(site.id, m)], count) for m in members}
                assert len(buckets) == 1, members


def test_by_device_splits_the_example_plant_into_more_than_one_unit(plant_config) -> None:
    assert len(set(unit_keys(_by(plant_config, "device")).values())) > 1


@pytest.mark.parametrize("text", ["3/3", "-1/3", "1", "a/b", "0/0", "1/2/3"])
def test_a_partition_outside_0_to_n_is_refused(text) -> None:
    with pytest.raises(ValueError, match=r"K/N|0 <= K < N"):
        PartitionSpec.parse(text)


def test_adding_a_worker_moves_only_a_small_share_of_the_units_and_only_to_the_new_worker() -> None:
    keys = [f"site-{i}" for i in range(2000)]
    for count in (2, 3, 5, 8):
        before = {key: stable_bucket(key, count) for key in keys}
        after = {key: stable_bucket(key, count + 1) for key in keys}
        moved = [key for key in keys if before[key] != after[key]]
        assert all(after[key] == count for key in moved)
        assert len(moved) < 1.5 * len(keys) / (count + 1)
