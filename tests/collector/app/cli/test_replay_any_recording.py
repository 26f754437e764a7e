"""`hazwatch replay` takes a recording nobody prepared for hazwatch: a raw NAB series, five-minute data."""

import re
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from collector.app.cli import app
from collector.evaluation.skab import default_data_dir

runner = CliRunner()
NAB_FILE = default_data_dir() / "nab" / "data" / "realKnownCause" / "machine_temperature_system_failure.csv"

CONFIG = """
sites:
- id: bench
  type: chemical_plant
  areas:
  - id: line
    kind: process_unit
    sensors:
    - {id: machine_temperature_system_failure, kind: generic}
"""


def config(tmp_path):
    path = tmp_path / "bench.yaml"
    path.write_text(CONFIG)
    return path


def replayed(output: str) -> int:
    return int(re.search(r"([\d,]+) readings, ", output).group(1).replace(",", ""))


@pytest.mark.skipif(not NAB_FILE.is_file(), reason=f"NAB data not at {NAB_FILE}")
def test_a_raw_nab_file_replays_every_reading_as_its_generic_sensor(tmp_path):
    rows = len(NAB_FILE.read_text().splitlines()) - 1
    result = runner.invoke(app, ["replay", str(NAB_FILE), "--config", str(config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert replayed(result.output) == rows
    assert "none skipped" in result.output and "ticked every 300 s" in result.output
    assert "health.offline" not in result.output, "five-minute data is not offline between readings"


def test_a_recording_that_maps_nothing_exits_2_naming_what_it_expected(tmp_path):
    other = tmp_path / "nyc_taxi.csv"
    other.write_text("timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n")
    result = runner.invoke(app, ["replay", str(other), "--config", str(config(tmp_path))])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "none of its 2 rows maps to a sensor" in text and "--sensor" in text and "found: nyc_taxi" in text
    named = runner.invoke(
        app, ["replay", str(other), "--config", str(config(tmp_path)), "--sensor", "machine_temperature_system_failure"]
    )
    assert named.exit_code == 0 and replayed(named.output) == 2


def test_a_year_of_five_minute_readings_replays_whole_on_the_data_s_own_five_minute_tick(tmp_path):
    """Ticking every second of five-minute data cost 300 ticks per reading (43 min for NAB); the speed itself is a
    figure the command prints, not a test."""
    n = 365_000
    stamps = (np.datetime64("2020-01-01T00:00:00") + np.arange(n) * np.timedelta64(300, "s")).astype(str)
    values = 50 + 10 * np.sin(np.arange(n) * 2 * np.pi / 288) + np.random.default_rng(3).normal(0, 1, n)
    path = tmp_path / "machine_temperature_system_failure.csv"
    with path.open("w") as out:
        out.write("timestamp,value\n")
        out.writelines(f"{t},{v:.3f}\n" for t, v in zip(stamps, values, strict=True))
    started = time.perf_counter()
    result = runner.invoke(app, ["replay", str(path), "--config", str(config(tmp_path))])
    wall = time.perf_counter() - started
    print(f"{n:,} five-minute readings replayed in {wall:.1f} s")
    assert result.exit_code == 0, result.output
    assert replayed(result.output) == n
    assert "ticked every 300 s of data time" in result.output
