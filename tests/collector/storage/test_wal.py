"""The write-ahead log: lines come back in order exactly once, survive a crash, stay within their bounds,
and a full disk never holds up the callbacks that alarms and acknowledgements wait for."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from collector.storage.wal import WriteAheadLog
from tests.support.disks import fill, small_disk
from tests.support.waiting import wait_until


def _lines(start: int, count: int, measurement: str = "readings") -> bytes:
    name = measurement.encode()
    return b"".join(b"%s,sensor=s%d value=1 %d\n" % (name, i % 7, i) for i in range(start, start + count))


def _wal(directory: Path, **options) -> WriteAheadLog:
    return WriteAheadLog(directory, lambda item: item, **options)


def _drain(wal: WriteAheadLog, batch: int, offset: int | None = None) -> bytes:
    out = b""
    offset = wal.checkpoint if offset is None else offset
    while True:
        read = wal.read(offset, batch)
        if read.points == 0:
            return out
        assert read.points == read.data.count(b"\n") and read.points <= batch
        out += read.data
        wal.confirm(read.end, read.points)
        offset = read.end


def _append(wal: WriteAheadLog, data: bytes, *, precious: bool = False) -> None:
    wal.append(data, data.count(b"\n"), precious=precious)


def test_lines_come_back_in_the_order_they_were_appended_once_each_and_leave_no_segment(tmp_path: Path) -> None:
    wal = _wal(tmp_path, memory_points=1000, segment_bytes=4096)
    for start in range(0, 5000, 250):
        _append(wal, _lines(start, 250))
        wal.sync()
    assert wal.pending_points == 5000
    assert wal.spooled_points == 5000, "every line is on disk, not only in memory"
    assert len(list(tmp_path.glob("*.wal"))) > 1, "the log rolled into several segments"
    assert _drain(wal, batch=333) == _lines(0, 5000), "read partly from disk, partly from the memory cache"
    assert wal.pending_points == 0
    assert list(tmp_path.glob("*.wal")) == []
    wal.close()


def test_a_log_abandoned_without_close_gives_back_everything_not_confirmed(tmp_path: Path) -> None:
    first = _wal(tmp_path)
    _append(first, _lines(0, 100))
    first.sync()
    read = first.read(first.checkpoint, 40)
    first.confirm(read.end, read.points)
    _append(first, _lines(100, 50))
    first.sync()  # no close(): as after kill -9, only what reached the disk is left

    reopened = _wal(tmp_path)
    assert reopened.pending_points == 110
    _append(reopened, _lines(150, 5))
    reopened.sync()
    assert _drain(reopened, batch=64) == _lines(40, 115)
    reopened.close()
    first.close()


def test_a_torn_last_line_is_cut_off_on_reopening(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    _append(wal, _lines(0, 10))
    wal.sync()
    wal.close()
    (segment,) = tmp_path.glob("*.wal")
    with open(segment, "ab") as handle:
        handle.write(b"readings,sensor=s1 val")
    reopened = _wal(tmp_path)
    assert reopened.pending_points == 10
    assert _drain(reopened, batch=100) == _lines(0, 10)
    reopened.close()


def test_a_durability_callback_runs_only_once_its_lines_are_in_the_file(tmp_path: Path) -> None:
    wal = _wal(tmp_path)
    seen: list[int] = []
    done = threading.Event()

    def on_durable() -> None:
        seen.append(sum(path.read_bytes().count(b"\n") for path in tmp_path.glob("*.wal")))
        done.set()

    _append(wal, _lines(0, 3000))
    wal.when_durable(on_durable)
    assert done.wait(10)
    assert seen == [3000]
    wal.close()


def test_over_its_disk_bound_the_log_drops_the_oldest_readings_but_keeps_every_alarm_line(tmp_path: Path) -> None:
    wal = _wal(tmp_path, max_bytes=64 * 1024, segment_bytes=16 * 1024, memory_points=1000)
    alarms = b""
    for start in range(0, 20_000, 500):
        _append(wal, _lines(start, 500))
        alarm = _lines(start, 1, measurement="alarms")
        alarms += alarm
        _append(wal, alarm, precious=True)
        wal.sync()
    on_disk = sum(path.stat().st_size for path in tmp_path.glob("*.wal"))
    assert on_disk <= 64 * 1024 + 16 * 1024 + len(alarms)
    assert wal.dropped_points > 10_000
    delivered = _drain(wal, batch=1000)
    kept_alarms = [line for line in delivered.splitlines() if line.startswith(b"alarms,")]
    assert sorted(kept_alarms) == sorted(alarms.splitlines()), "no alarm line was dropped"
    readings = [line for line in delivered.splitlines() if line.startswith(b"readings,")]
    assert readings[-1] == _lines(19_999, 1).rstrip(), "the newest readings are kept"
    assert len(readings) + wal.dropped_points == 20_000
    assert wal.pending_points == 0 and wal.spooled_points == 0, "the counts tell the truth"
    wal.close()


def test_on_a_full_disk_callbacks_go_on_lines_wait_in_memory_and_reach_the_disk_when_space_returns(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        wal = _wal(disk / "wal", commit_interval=0.05)
        _append(wal, _lines(0, 100))
        wal.sync()
        ballast = fill(disk)
        released = threading.Event()
        _append(wal, _lines(100, 20_000))
        wal.when_durable(released.set)
        assert released.wait(5), "a full disk must not hold up acknowledgements and alarms"
        assert isinstance(wal.disk_error, OSError)
        assert wal.pending_points == 20_100
        os.unlink(ballast)
        wait_until(lambda: wal.disk_error is None, 10, "the log to write what it kept in memory")
        assert wal.spooled_points == 20_100
        assert _drain(wal, batch=5000) == _lines(0, 20_100)
        assert wal.pending_points == 0
        wal.close()
