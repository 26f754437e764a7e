"""The terminal status view shows every sensor's current value, its alarm level and health, and the active alarms."""

from __future__ import annotations

import dataclasses
import re
import time

import httpx
import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from collector.app.cli import app
from collector.app.localservices import local_influxd
from collector.views.status import StatusView
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry, load_config, load_configs
from hazwatch.config.examples import EXAMPLES
from hazwatch.events import AlarmEvent, AlarmState, Transition
from hazwatch.quality import Quality
from hazwatch.storage.lineprotocol import AlarmEncoder, ReadingEncoder

CONFIGS = [EXAMPLES / "coal-mine.yaml", EXAMPLES / "chemical-plant.yaml"]
NOW = 1_800_000_000 * 10**9
NS = 10**9


@pytest.fixture(scope="module")
def registry() -> SensorRegistry:
    return SensorRegistry.from_config(load_configs(CONFIGS))


def _text(view: StatusView) -> str:
    console = Console(record=True, width=260, color_system=None)
    console.print(view.render())
    return console.export_text()


def _row(text: str, sensor: str) -> str:
    """The cells of one sensor's row (several area tables share a terminal line)."""
    match = re.search(rf"│{re.escape(sensor)}\s*│([^│]*)│([^│]*)│([^│]*)│([^│]*)│([^│]*)│", text)
    assert match, f"{sensor} is not shown"
    return " | ".join(cell.strip() for cell in match.groups())


def _event(slot: int, state: AlarmState, level: int, transition: Transition, message: str) -> AlarmEvent:
    return AlarmEvent(
        event_id=f"e-{slot}-{transition}",
        slot=slot,
        rule="threshold",
        category="process",
        transition=transition,
        state=state,
        level=level,
        level_name="power_cut" if level == 2 else "alarm",
        priority="critical",
        value=1.62,
        limit=1.5,
        time_ns=NOW,
        message=message,
    )


def _view(registry: SensorRegistry, now_ns: int = NOW) -> StatusView:
    return StatusView(list(registry), clock=lambda: now_ns)


def test_every_sensor_of_both_sites_is_shown_with_its_current_value(registry):
    view = _view(registry)
    values = 0.25 + np.arange(len(registry)) * 0.0137
    view.submit(ReadingBatch.from_columns(np.arange(len(registry)), NOW - NS, values))
    text = _text(view)
    for sensor, value in zip(registry, values, strict=True):
        assert _row(text, sensor.sensor).startswith(f"{value:.4g} | {sensor.unit}".rstrip()), sensor.key


def test_level_follows_the_configured_limits(registry):
    view = _view(registry)
    face, oxygen = registry.slot("xinyuan-mine", "LW-CH4-T1"), registry.slot("hengda-chem", "TF2-O2")
    view.submit(ReadingBatch.from_columns([face, oxygen], NOW - NS, [1.2, 19.0]))
    text = _text(view)
    assert "L1" in _row(text, "LW-CH4-T1")
    assert "L2" in _row(text, "TF2-O2")
    view.submit(ReadingBatch.from_columns([face, oxygen], NOW, [1.6, 20.9]))
    text = _text(view)
    assert "L2" in _row(text, "LW-CH4-T1")
    assert "normal" in _row(text, "TF2-O2")


def test_a_silent_sensor_shows_offline_never_its_last_value(registry):
    slot = registry.slot("xinyuan-mine", "HD-CH4-T1")
    poll = registry.sensors[slot].poll_interval
    view = _view(registry, now_ns=NOW + int(10 * poll * NS))
    view.submit(ReadingBatch.from_columns([slot], NOW, [0.4321]))
    row = _row(_text(view), "HD-CH4-T1")
    assert "0.4321" not in row and "—" in row and "offline" in row


def test_offline_and_fault_qualities_are_health_not_values(registry):
    view = _view(registry)
    offline, fault = registry.slot("hengda-chem", "R101-LEL"), registry.slot("hengda-chem", "R101-NH3")
    view.submit(
        ReadingBatch.from_columns([offline, fault], NOW - NS, [np.nan, np.nan], [Quality.OFFLINE, Quality.FAULT])
    )
    text = _text(view)
    assert "—" in _row(text, "R101-LEL") and "offline" in _row(text, "R101-LEL")
    assert "—" in _row(text, "R101-NH3") and "fault" in _row(text, "R101-NH3")


def test_a_late_back_filled_reading_does_not_replace_a_newer_one(registry):
    view = _view(registry)
    slot = registry.slot("xinyuan-mine", "RT-CH4")
    view.submit(ReadingBatch.from_columns([slot], NOW - NS, [0.31]))
    view.submit(ReadingBatch.from_columns([slot, slot], [NOW - 50 * NS, NOW - 40 * NS], [0.99, 0.98]))
    assert _row(_text(view), "RT-CH4").startswith("0.31")


def test_trend_arrow_points_the_way_the_value_moves(registry):
    view = _view(registry)
    up, down = registry.slot("xinyuan-mine", "LW-CH4-T0"), registry.slot("xinyuan-mine", "LW-CO-T0")
    times = NOW - np.arange(30, 0, -1) * 2 * NS
    for i, t in enumerate(times):
        view.submit(ReadingBatch.from_columns([up, down], int(t), [0.2 + 0.02 * i, 20.0 - 0.5 * i]))
    text = _text(view)
    assert "↑" in _row(text, "LW-CH4-T0") and "↓" in _row(text, "LW-CO-T0")


def test_active_alarms_appear_on_raise_and_leave_when_back_to_normal(registry):
    view = _view(registry)
    slot = registry.slot("xinyuan-mine", "LW-CH4-T0")
    view.submit_events([_event(slot, AlarmState.UNACKNOWLEDGED, 2, Transition.RAISE, "return corner CH4 power cut")])
    text = _text(view)
    assert "Active alarms (1)" in text and "return corner CH4 power cut" in text
    view.submit_events([_event(slot, AlarmState.NORMAL, 0, Transition.CLEAR, "back to normal")])
    assert "Active alarms (0)" in _text(view)


@pytest.mark.parametrize("with_config", [True, False], ids=["with-config", "from-tags-only"])
def test_status_command_shows_a_running_systems_influxdb(with_config):
    mine = SensorRegistry.from_config(load_config(CONFIGS[0]))
    face, faulty = mine.slot("xinyuan-mine", "LW-CH4-T1"), mine.slot("xinyuan-mine", "LW-CO-T0")
    now = time.time_ns()
    values = np.full(len(mine), 0.37)
    values[face], values[faulty] = 1.63, np.nan
    quality = np.zeros(len(mine), dtype=np.uint8)
    quality[faulty] = Quality.FAULT
    batch = ReadingBatch.from_columns(np.arange(len(mine)), now - NS, values, quality)
    alarm = dataclasses.replace(
        _event(face, AlarmState.UNACKNOWLEDGED, 2, Transition.RAISE, "face CH4 cut"), time_ns=now - NS
    )
    with local_influxd() as influxd:
        httpx.post(f"{influxd.url}/query", params={"q": "CREATE DATABASE hazwatch"}).raise_for_status()
        body = ReadingEncoder(mine).encode(batch) + AlarmEncoder(mine).encode([alarm])
        httpx.post(f"{influxd.url}/write", params={"db": "hazwatch"}, content=body).raise_for_status()
        args = ["--config", str(CONFIGS[0])] if with_config else []
        result = CliRunner().invoke(app, ["status", "--influx-url", influxd.url, "--once", *args])
    assert result.exit_code == 0, result.output
    for sensor in mine:
        assert sensor.sensor in result.output
    assert _row(result.output, "LW-CH4-T1").startswith("1.63")
    assert "L2" in _row(result.output, "LW-CH4-T1"), "the active power-cut alarm colours the sensor"
    assert "fault" in _row(result.output, "LW-CO-T0") and "—" in _row(result.output, "LW-CO-T0")
    assert "face CH4 cut" in result.output


def test_calibration_gas_is_shown_as_calibration_not_as_an_over_limit(registry) -> None:
    view = StatusView(registry.sensors, clock=lambda: NOW)
    slot = registry.slot("hengda-chem", "TF2-LEL-3")
    view.submit(ReadingBatch.from_columns([slot], NOW, [50.0], Quality.CALIBRATION))
    assert _row(_text(view), "TF2-LEL-3") == "50 | %LEL | → | normal | calibration"


def test_status_shows_a_groups_alarm_on_the_groups_own_row_from_a_running_systems_influxdb():
    mine = SensorRegistry.from_config(load_config(CONFIGS[0]))
    unit = mine.slot("xinyuan-mine", "2103-heading-ventilation")
    now = time.time_ns()
    batch = ReadingBatch.from_columns(np.arange(len(mine)), now - NS, np.full(len(mine), 0.37))
    alarm = dataclasses.replace(
        _event(unit, AlarmState.UNACKNOWLEDGED, 1, Transition.RAISE, "2103: fan stopped?"),
        rule="multi.ventilation",
        time_ns=now - NS,
    )
    with local_influxd() as influxd:
        httpx.post(f"{influxd.url}/query", params={"q": "CREATE DATABASE hazwatch"}).raise_for_status()
        body = ReadingEncoder(mine).encode(batch) + AlarmEncoder(mine).encode([alarm])
        httpx.post(f"{influxd.url}/write", params={"db": "hazwatch"}, content=body).raise_for_status()
        result = CliRunner().invoke(
            app, ["status", "--influx-url", influxd.url, "--once", "--config", str(CONFIGS[0])]
        )
    assert result.exit_code == 0, result.output
    row = _row(result.output, "2103-heading-ventilation")
    assert "L1" in row and "unit of 2" in row, "the group's own row: its alarm, and no 'no data' for it"
    assert "L1" not in _row(result.output, "HD-CH4-T1"), "the member's row is the member's own"
    assert "Active alarms (1)" in result.output and "2 units" in result.output
