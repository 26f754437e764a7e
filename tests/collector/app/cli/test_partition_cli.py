"""The command line of partitioning: `hazwatch check --partitions N`, `hazwatch run --partition K/N`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from hazwatch.config.examples import PLANT_EXAMPLE


def _hazwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collector", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _plant_partitioned_by(tmp_path: Path, by: str) -> Path:
    document = yaml.safe_load(PLANT_EXAMPLE.read_text(encoding="utf-8"))
    document["partitioning"] = {"by": by}
    path = tmp_path / f"plant-{by}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_check_shows_how_many_sensors_each_partition_would_own(tmp_path) -> None:
    result = _hazwatch("check", str(_plant_partitioned_by(tmp_path, "device")), "--partitions", "3")
    assert result.returncode == 0, result.stderr
    sizes = re.search(r"partitions by device: 0/3: (\d+), 1/3: (\d+), 2/3: (\d+) sensors", result.stdout)
    assert sizes is not None, result.stdout
    assert sum(map(int, sizes.groups())) == 33


def test_check_shows_how_many_sensors_change_worker_when_a_worker_is_added(tmp_path) -> None:
    result = _hazwatch("check", str(_plant_partitioned_by(tmp_path, "device")), "--partitions", "3", "--from", "2")
    assert result.returncode == 0, result.stderr
    moving = re.search(r"from 2 to 3 workers: (\d+) of 33 sensors change worker \((.*?)\)", result.stdout)
    assert moving is not None, result.stdout
    sizes = re.search(r"2/3: (\d+) sensors", result.stdout)
    assert moving[2] == f"to 2/3: {moving[1]}", "growing N moves units only to the new worker"
    assert sizes is not None and moving[1] == sizes[1], "and everything the new worker owns came from the others"


def test_from_without_a_partition_count_is_refused(tmp_path) -> None:
    result = _hazwatch("check", str(PLANT_EXAMPLE), "--from", "2")
    assert result.returncode == 2
    assert "--from" in result.stderr


def test_partitioning_by_area_is_refused_when_a_device_or_group_spans_areas_with_its_field_path(tmp_path) -> None:
    result = _hazwatch("check", str(_plant_partitioned_by(tmp_path, "area")))
    assert result.returncode == 2
    assert "sites[0].devices[0]" in result.stderr and "dcs-gw" in result.stderr  # the DCS gateway
    assert "would split it" in result.stderr


def test_run_refuses_a_partition_outside_its_count_before_starting_anything() -> None:
    result = _hazwatch("run", str(PLANT_EXAMPLE), "--partition", "3/3")
    assert result.returncode == 2
    assert "--partition" in result.stderr
