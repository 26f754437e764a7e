"""A restarted hazwatch checks its restored alarms against the first readings (real processes).

The simulated mine serves its Modbus devices from this test; `hazwatch run` is a child process that is
killed with SIGKILL while the face methane stands at a latched power-cut, and started again on the same
state folder. What happens next depends only on the methane it then reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collector.app.localservices import free_port
from tests.support.hazwatch_process import HazwatchProcess
from tests.support.receivers import ThreadedReceiver
from tests.support.served_mine import ServedMine, mine_config
from tests.support.waiting import wait_until

TOKEN = "restart-test-token-0123456789"
SECRET = "restart-test-webhook-secret-0123456789"
SITE, FACE, RULE = "xinyuan-mine", "LW-CH4-T1", "threshold.high"


@pytest.fixture
def receiver() -> Iterator[ThreadedReceiver]:
    receiver = ThreadedReceiver(SECRET.encode())
    server = receiver.serve()
    yield receiver
    server.shutdown()


@pytest.fixture
def mine_config_path(tmp_path: Path, receiver: ThreadedReceiver) -> Path:
    return mine_config(tmp_path / "mine.yaml", [{"name": "control-room", "url": receiver.url}])


class Operator:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    def up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/alarms", headers=self.headers, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def face_alarm(self) -> dict | None:
        try:
            rows = httpx.get(f"{self.url}/alarms", headers=self.headers, timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None
        rows = rows["alarms"] if isinstance(rows, dict) else rows
        return next((r for r in rows if r["sensor"] == FACE and r["rule"] == RULE), None)

    def reset(self) -> httpx.Response:
        url = f"{self.url}/alarms/{SITE}/{FACE}/{RULE}/reset"
        return httpx.post(url, json={"user": "shift-lead"}, headers=self.headers, timeout=5)


def _hazwatch(tmp_path: Path, config_path: Path, api_port: int) -> HazwatchProcess:
    dead_influx = f"http://127.0.0.1:{free_port()}"
    return HazwatchProcess(
        config_path,
        tmp_path / "state",
        tmp_path / "hazwatch.log",
        ["--api-port", str(api_port), "--influx-url", dead_influx],
        env={"HAZWATCH_API_TOKEN": TOKEN, "HAZWATCH_WEBHOOK_SECRET": SECRET},
    )


def _face_events(receiver: ThreadedReceiver) -> list[dict]:
    return [d.payload for d in receiver.deliveries if d.payload["sensor"] == FACE and d.payload.get("rule") == RULE]


def _latch_then_kill(mine: ServedMine, hazwatch: HazwatchProcess, operator: Operator) -> dict:
    hazwatch.start()
    try:
        wait_until(operator.up, 30, "the API to answer")
        mine.values.held[FACE] = 2.0
        wait_until(lambda: (operator.face_alarm() or {}).get("level") == 2, 30, "the power-cut alarm")
        time.sleep(2)  # the alarm state is saved within 0.5 s of a change
        return operator.face_alarm()
    finally:
        hazwatch.kill()


def test_a_latched_power_cut_survives_a_restart_and_can_be_reset_once_methane_is_below_it(
    tmp_path: Path, mine_config_path: Path, receiver: ThreadedReceiver
) -> None:
    api_port = free_port()
    operator = Operator(api_port)
    hazwatch = _hazwatch(tmp_path, mine_config_path, api_port)
    with ServedMine(mine_config_path) as mine:
        before = _latch_then_kill(mine, hazwatch, operator)
        assert before["state"] == "unacknowledged" and before["level"] == 2
        mine.values.held[FACE] = 0.42
        hazwatch.start()
        try:
            wait_until(lambda: (operator.face_alarm() or {}).get("state") == "latched", 30, "the alarm to be latched")
            latched = operator.face_alarm()
            assert latched["level"] == 2, "a latched power-cut keeps its level until it is reset"
            answer = operator.reset()
            assert answer.status_code == 200, answer.text
            wait_until(lambda: operator.face_alarm() is None, 10, "the alarm to leave the list")
            wait_until(lambda: any(e["transition"] == "reset" for e in _face_events(receiver)), 10, "the reset event")
        finally:
            hazwatch.stop()
    events = _face_events(receiver)
    transitions = [e["transition"] for e in events]
    assert transitions.count("raise") == 1, f"one raise for one episode, not a new one after the restart: {transitions}"
    assert transitions.index("raise") < transitions.index("clear") < transitions.index("reset")
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(set(ids))


def test_a_restored_power_cut_whose_methane_is_still_high_stays_raised_without_a_new_raise(
    tmp_path: Path, mine_config_path: Path, receiver: ThreadedReceiver
) -> None:
    api_port = free_port()
    operator = Operator(api_port)
    hazwatch = _hazwatch(tmp_path, mine_config_path, api_port)
    with ServedMine(mine_config_path) as mine:
        _latch_then_kill(mine, hazwatch, operator)
        hazwatch.start()
        try:
            wait_until(operator.up, 30, "the API to answer after the restart")
            time.sleep(5)  # many polls at 2 % CH4
            alarm = operator.face_alarm()
            refused = operator.reset()
        finally:
            hazwatch.stop()
    assert alarm["state"] == "unacknowledged" and alarm["level"] == 2, "no false clear"
    assert refused.status_code == 409, refused.text
    transitions = [e["transition"] for e in _face_events(receiver)]
    assert transitions == ["raise"], f"one raise, and nothing more while methane stays at 2 %: {transitions}"
