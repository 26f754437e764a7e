"""Every reader gives back exactly what an export wrote, in arrival order, column by column."""

import numpy as np
import pytest

from collector.evaluation.scenarios.runner import rendering_batch
from collector.sources.replay.readers import ReadingFile
from collector.telemetry import metrics
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.recordings import ReplayFileError
from simulators.export import write_rendering
from simulators.physics.events import Calibration, CommsLoss
from simulators.physics.site import SimulatedSite


@pytest.fixture(scope="module")
def rendering(mine_config):
    events = [
        Calibration(type="calibration", sensor="LW-CH4-T1", at=60),
        CommsLoss(type="comms_loss", device="ss-rt12", at=100, duration_s=40),
    ]
    return SimulatedSite(mine_config, events, seed=11, step_s=2).render(400)


def read_all(path, registry) -> ReadingBatch:
    return ReadingBatch.concat(list(ReadingFile(path, registry).batches()))


@pytest.mark.parametrize("name", ["readings.csv", "readings.parquet", "readings.lp"])
def test_long_formats_round_trip_values_quality_and_arrival_order(tmp_path, mine_config, rendering, name):
    registry = SensorRegistry.from_config(mine_config)
    written = write_rendering(rendering, tmp_path / name)
    expected = rendering_batch(rendering, registry)
    got = read_all(tmp_path / name, registry)
    assert written == len(expected) == len(got)
    assert np.array_equal(got.slot, expected.slot)
    assert np.array_equal(got.time_ns, expected.time_ns)
    assert np.allclose(got.value, expected.value)
    assert np.array_equal(got.quality, expected.quality)
    assert (got.quality == 3).any(), "the calibration flag survives the file"
    assert (np.diff(got.time_ns) < 0).any(), "back-filled readings come after the outage, as received"


def test_wide_csv_round_trips_on_a_time_grid(tmp_path, mine_config, rendering):
    registry = SensorRegistry.from_config(mine_config)
    written = write_rendering(rendering, tmp_path / "wide.csv", wide=True)
    got = read_all(tmp_path / "wide.csv", registry).sorted_by_time()
    expected = rendering_batch(rendering, registry).sorted_by_time()
    assert written == len(got) == len(expected)
    order_got = np.lexsort((got.slot, got.time_ns))
    order_expected = np.lexsort((expected.slot, expected.time_ns))
    assert np.array_equal(got.slot[order_got], expected.slot[order_expected])
    assert np.allclose(got.value[order_got], expected.value[order_expected])


def test_hand_written_csv_with_epoch_seconds_quality_names_and_unknown_sensors(tmp_path, mine_config):
    registry = SensorRegistry.from_config(mine_config)
    path = tmp_path / "logger.csv"
    path.write_text(
        "timestamp,sensor,value,quality\n"
        "1709280000,LW-CH4-T1,0.41,good\n"
        "1709280002,LW-CH4-T1,2.01,calibration\n"
        "1709280002,NOT-A-SENSOR,9.9,good\n"
        "1709280004,xinyuan-mine/LW-CH4-T0,0.52,\n"
    )
    before = metrics.PAYLOADS_REJECTED.labels("replay", "unknown_sensor")._value.get()
    reading_file = ReadingFile(path, registry)
    got = ReadingBatch.concat(list(reading_file.batches()))
    slot_t1 = registry.slot("xinyuan-mine", "LW-CH4-T1")
    assert list(got.slot) == [slot_t1, slot_t1, registry.slot("xinyuan-mine", "LW-CH4-T0")]
    assert list(got.time_ns) == [1709280000 * 10**9, 1709280002 * 10**9, 1709280004 * 10**9]
    assert list(got.quality) == [0, 3, 0]
    assert reading_file.rows_skipped == 1 and "NOT-A-SENSOR" in reading_file.resolver.unknown
    assert metrics.PAYLOADS_REJECTED.labels("replay", "unknown_sensor")._value.get() == before + 1


def test_line_protocol_skips_bad_lines_and_other_measurements(tmp_path, mine_config):
    registry = SensorRegistry.from_config(mine_config)
    path = tmp_path / "dump.lp"
    path.write_text(
        "# exported\n"
        "readings,site=xinyuan-mine,sensor=LW-CH4-T1 value=0.5,quality=0i 1709280000000000000\n"
        "alarms,site=xinyuan-mine,sensor=LW-CH4-T1 level=1i 1709280000000000000\n"
        "this is not line protocol\n"
        "readings,site=xinyuan-mine,sensor=RT-CH4 quality=1i 1709280002000000000\n"
    )
    got = read_all(path, registry)
    assert list(got.slot) == [registry.slot("xinyuan-mine", "LW-CH4-T1"), registry.slot("xinyuan-mine", "RT-CH4")]
    assert got.value[0] == 0.5 and np.isnan(got.value[1]) and list(got.quality) == [0, 1]


def test_unreadable_files_are_refused_with_the_reason(tmp_path, mine_config):
    registry = SensorRegistry.from_config(mine_config)
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(ReplayFileError, match="unknown file type"):
        ReadingFile(tmp_path / "x.xlsx", registry)
    with pytest.raises(ReplayFileError, match="no such file"):
        ReadingFile(tmp_path / "missing.csv", registry)
    (tmp_path / "empty.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ReplayFileError, match="no time column"):
        read_all(tmp_path / "empty.csv", registry)
    (tmp_path / "bad.csv").write_text("time,sensor,value\n2024-03-01T00:00:00Z,LW-CH4-T1,abc\n")
    with pytest.raises(ReplayFileError, match=r"bad\.csv"):
        read_all(tmp_path / "bad.csv", registry)
