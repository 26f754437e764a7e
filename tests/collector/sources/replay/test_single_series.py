"""A plain `timestamp,value` recording (how public benchmarks ship a series) replays as one sensor."""

import numpy as np
import pytest
import yaml

from collector.sources.replay.readers import ReadingFile
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.loader import parse_config
from hazwatch.recordings import ReplayFileError

CONFIG = """
sites:
- id: bench
  type: chemical_plant
  areas:
  - id: line
    kind: process_unit
    sensors:
    - {id: machine_temperature, kind: generic}
    - {id: FT-101, kind: flow, range: [0, 50]}
"""


@pytest.fixture
def registry() -> SensorRegistry:
    return SensorRegistry.from_config(parse_config(yaml.safe_load(CONFIG)))


def series(path, rows=6, step_s=300):
    stamps = np.datetime64("2014-02-14T00:00:00") + np.arange(rows) * np.timedelta64(step_s, "s")
    path.write_text("timestamp,value\n" + "".join(f"{t},{i * 1.5}\n" for i, t in enumerate(stamps.astype(str))))
    return path


def read_all(reading_file: ReadingFile) -> ReadingBatch:
    return ReadingBatch.concat(list(reading_file.batches()))


def test_a_timestamp_value_file_is_the_sensor_named_like_the_file(tmp_path, registry):
    reading_file = ReadingFile(series(tmp_path / "machine_temperature.csv"), registry)
    got = read_all(reading_file)
    assert list(got.slot) == [registry.slot("bench", "machine_temperature")] * 6
    assert list(got.value) == [0.0, 1.5, 3.0, 4.5, 6.0, 7.5]
    assert reading_file.rows_read == 6 and reading_file.rows_skipped == 0


def test_the_sensor_option_names_the_series_whatever_the_file_is_called(tmp_path, registry):
    got = read_all(ReadingFile(series(tmp_path / "export-2014.csv"), registry, sensor="FT-101"))
    assert set(got.slot.tolist()) == {registry.slot("bench", "FT-101")} and len(got) == 6


def test_a_file_that_maps_nothing_is_an_error_naming_what_was_expected(tmp_path, registry):
    reading_file = ReadingFile(series(tmp_path / "nyc_taxi.csv"), registry)
    with pytest.raises(ReplayFileError, match=r"none of its 6 rows maps.*--sensor.*machine_temperature.*nyc_taxi"):
        read_all(reading_file)
    wide = tmp_path / "wide.csv"
    wide.write_text("time,TT-9,PT-9\n2024-03-01T00:00:00Z,1,2\n")
    with pytest.raises(ReplayFileError, match="wide file with one column per sensor id"):
        read_all(ReadingFile(wide, registry))


def test_skipped_rows_are_counted_by_reason_in_every_format(tmp_path, registry):
    long = tmp_path / "long.csv"
    long.write_text("time,sensor,value\n2024-03-01T00:00:00Z,FT-101,3\n2024-03-01T00:00:01Z,XX-1,4\n")
    reading_file = ReadingFile(long, registry)
    assert len(read_all(reading_file)) == 1 and reading_file.skipped == {"sensor not in the config": 1}
    lp = tmp_path / "dump.lp"
    lp.write_text(
        "readings,site=bench,sensor=FT-101 value=2 1709280000000000000\n"
        "alarms,site=bench,sensor=FT-101 level=1i 1709280000000000000\n"
        "this is not line protocol\n"
    )
    reading_file = ReadingFile(lp, registry)
    assert len(read_all(reading_file)) == 1
    assert reading_file.skipped == {"not line protocol": 1, "measurement other than readings": 1}


def test_the_reading_interval_is_read_from_the_data(tmp_path, registry):
    reading_file = ReadingFile(series(tmp_path / "machine_temperature.csv", rows=20, step_s=300), registry)
    assert reading_file.intervals_s() == {registry.slot("bench", "machine_temperature"): 300.0}
    assert reading_file.rows_read == 0, "looking ahead counts nothing"
    promised = registry.with_poll_intervals(reading_file.intervals_s())
    assert promised.sensors[0].poll_interval == 300.0 and promised.sensors[1].poll_interval == 10.0
