"""The on-disk spool: lines come back oldest first, exactly once, also after a restart."""

from __future__ import annotations

from pathlib import Path

from collector.storage.spool import Spool


def _lines(start: int, count: int) -> bytes:
    return b"".join(b"m v=1 %d\n" % i for i in range(start, start + count))


def _read_all(spool: Spool, batch: int) -> bytes:
    out = b""
    while spool.points:
        data, points = spool.peek(batch)
        assert points == data.count(b"\n") and 0 < points <= batch
        spool.consume(points)
        out += data
    return out


def test_segments_are_read_back_in_the_order_they_were_appended(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for start in (0, 7, 100):
        spool.append(_lines(start, 7 if start < 100 else 30))
    assert spool.points == 44
    assert _read_all(spool, batch=5) == _lines(0, 14) + _lines(100, 30)
    assert list(tmp_path.iterdir()) == []


def test_a_reopened_spool_holds_what_was_not_consumed_and_appends_after_it(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    first.append(_lines(0, 10))
    first.append(_lines(10, 10))
    _, points = first.peek(20)
    first.consume(points)  # the whole first segment was delivered

    reopened = Spool(tmp_path)
    assert reopened.points == 10
    reopened.append(_lines(20, 5))
    assert _read_all(reopened, batch=3) == _lines(10, 15)


def test_a_segment_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    Spool(tmp_path).append(_lines(0, 3))
    (tmp_path / "00000000000000000001.partial").write_bytes(b"m v=1 3\nm v=")
    spool = Spool(tmp_path)
    assert _read_all(spool, batch=10) == _lines(0, 3)
