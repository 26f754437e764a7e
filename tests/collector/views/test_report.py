"""`hazwatch report` draws readings against their limit bands and lists the alarm spans of a time range."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from collector.app.cli import app
from collector.app.cli.report import parse_time
from collector.app.localservices import local_influxd
from collector.views.report import alarm_spans
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import MINE_EXAMPLE as MINE
from hazwatch.events import AlarmEvent, AlarmState, Transition
from hazwatch.storage.lineprotocol import AlarmEncoder, ReadingEncoder

NS = 1_000_000_000


def _event(
    slot: int, n: int, transition: Transition, state: AlarmState, level: int, value: float, t: int
) -> AlarmEvent:
    return AlarmEvent(
        event_id=f"r-{n}",
        slot=slot,
        rule="threshold",
        category="process",
        transition=transition,
        state=state,
        level=level,
        level_name="alarm" if level == 1 else "power_cut" if level else "normal",
        priority="high",
        value=value,
        limit=1.0,
        time_ns=t,
        message="face CH4",
    )


@pytest.fixture(scope="module")
def filled():
    """One hour of the mine: face methane ramps through 1.0 % and 1.5 % and back; every other sensor steady."""
    registry = SensorRegistry.from_config(load_config(MINE))
    face = registry.slot("xinyuan-mine", "LW-CH4-T1")
    now = time.time_ns()
    times = now - np.arange(360, 0, -1, dtype=np.int64) * 10 * NS
    slots = np.repeat(np.arange(len(registry)), len(times))
    values = np.full(len(slots), 0.3)
    ramp = 0.3 + 1.4 * np.sin(np.linspace(0, np.pi, len(times)))
    values[slots == face] = ramp
    batch = ReadingBatch.from_columns(slots, np.tile(times, len(registry)), values)
    raised, cut = (int(times[np.argmax(ramp >= limit)]) for limit in (1.0, 1.5))
    cleared = int(times[-40])
    events = [
        _event(face, 1, Transition.RAISE, AlarmState.UNACKNOWLEDGED, 1, 1.0, raised),
        _event(face, 2, Transition.ESCALATE, AlarmState.UNACKNOWLEDGED, 2, 1.5, cut),
        _event(face, 3, Transition.CLEAR, AlarmState.NORMAL, 0, 0.9, cleared),
    ]
    with local_influxd() as influxd:
        httpx.post(f"{influxd.url}/query", params={"q": "CREATE DATABASE hazwatch"}).raise_for_status()
        body = ReadingEncoder(registry).encode(batch) + AlarmEncoder(registry).encode(events)
        httpx.post(f"{influxd.url}/write", params={"db": "hazwatch"}, content=body).raise_for_status()
        yield influxd, registry, (raised, cleared)


def _report(influxd, out: Path):
    return CliRunner().invoke(
        app, ["report", str(MINE), "--influx-url", influxd.url, "--from", "now-2h", "--to", "now", "--out", str(out)]
    )


def test_html_report_lists_the_alarm_span_and_plots_every_area(filled, tmp_path):
    influxd, registry, (raised, cleared) = filled
    out = tmp_path / "shift.html"
    result = _report(influxd, out)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    rows = re.findall(r"<tr>(<td>.*?)</tr>", page)
    assert len(rows) == 1, "one raise → escalate → clear is one span"
    cells = re.findall(r"<td>(.*?)</td>", rows[0])
    assert cells[:4] == ["xinyuan-mine", "LW-CH4-T1", "threshold", "L2"]
    assert cells[6] == f"{(cleared - raised) / NS / 60:.1f} min"
    areas = {s.area for s in registry}
    assert page.count("data:image/png;base64,") == len(areas)


def test_png_report_is_one_image_with_a_plot_per_sensor(filled, tmp_path):
    influxd, registry, _ = filled
    out = tmp_path / "shift.png"
    result = _report(influxd, out)
    assert result.exit_code == 0, result.output
    height, width, _ = imread(out).shape
    rows = -(-len(registry) // 3)
    assert width > 1000 and height > rows * 150


def test_report_refuses_an_unknown_format_and_a_reversed_range(filled, tmp_path):
    influxd, _, _ = filled
    assert _report(influxd, tmp_path / "x.pdf").exit_code == 2
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(MINE),
            "--influx-url",
            influxd.url,
            "--from",
            "now",
            "--to",
            "now-1h",
            "--out",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 2


def test_spans_pair_raise_with_clear_and_keep_open_alarms_open():
    rows = [
        {"time": 10, "site": "s", "sensor": "a", "rule": "hi", "state": "unacknowledged", "level": "1", "value": 1.1},
        {"time": 20, "site": "s", "sensor": "a", "rule": "hi", "state": "acknowledged", "level": "2", "value": 1.7},
        {"time": 30, "site": "s", "sensor": "a", "rule": "hi", "state": "normal", "level": "0", "value": 0.5},
        {"time": 25, "site": "s", "sensor": "b", "rule": "hi", "state": "unacknowledged", "level": "1", "value": 9.0},
    ]
    spans = alarm_spans(rows, end_ns=100)
    assert [(s.sensor, s.start_ns, s.end_ns, s.level, s.peak, s.open) for s in spans] == [
        ("a", 10, 30, 2, 1.7, False),
        ("b", 25, 100, 1, 9.0, True),
    ]


def test_times_are_relative_to_now_or_iso_8601():
    now = 1_800_000_000 * NS
    assert parse_time("now", now) == now
    assert parse_time("now-6h", now) == now - 6 * 3600 * NS
    assert parse_time("2027-01-15T08:00:00", now) == parse_time("2027-01-15T16:00:00+08:00", now)
