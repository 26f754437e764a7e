"""The state folder's disk full: alarms still reach the receiver within 1 s, a system alarm says why, the API
refuses actions cleanly, and once space returns nothing is missing (real processes, a real 8 MB tmpfs)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collector.app.localservices import free_port
from collector.notify.payload import parse_rfc3339
from tests.support.disks import fill, small_disk
from tests.support.hazwatch_process import HazwatchProcess
from tests.support.receivers import ThreadedReceiver
from tests.support.served_mine import ServedMine, mine_config
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults

TOKEN = "full-disk-test-token-0123456789"
SECRET = "full-disk-test-webhook-secret-0123456789"
SITE = "xinyuan-mine"
METHANE = ["LW-CH4-T0", "LW-CH4-SH", "LW-CH4-T2", "LW-CH4-T3", "HD-CH4-T1"]
_ANNOUNCED = re.compile(r"alarm event_id=(\w+) .*? annunciate=True")


@pytest.fixture
def operators() -> Iterator[ThreadedReceiver]:
    receiver = ThreadedReceiver(SECRET.encode())
    server = receiver.serve()
    yield receiver
    server.shutdown()


def _announced(hazwatch: HazwatchProcess) -> list[str]:
    return _ANNOUNCED.findall(hazwatch.log())


def _post(api: str, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.post(f"{api}{path}", json={"user": "shift-lead"}, headers=headers, timeout=5)


def _alarms(api: str) -> list[dict]:
    return httpx.get(f"{api}/alarms", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()["alarms"]


def test_with_the_state_disk_full_every_alarm_reaches_the_receiver_within_1_s_and_nothing_is_lost(
    tmp_path: Path, operators: ThreadedReceiver
) -> None:
    bureau = ThreadedReceiver(SECRET.encode())  # away until space returns: its deliveries wait
    with small_disk(tmp_path / "disk", "8m") as disk:
        subscribers = [{"name": "control-room", "url": operators.url}, {"name": "bureau", "url": bureau.url}]
        config = mine_config(tmp_path / "mine.yaml", subscribers)
        api_port = free_port()
        api = f"http://127.0.0.1:{api_port}"
        dead_influx = f"http://127.0.0.1:{free_port()}"
        options = ["--api-port", str(api_port), "--influx-url", dead_influx]
        env = {"HAZWATCH_API_TOKEN": TOKEN, "HAZWATCH_WEBHOOK_SECRET": SECRET}
        hazwatch = HazwatchProcess(config, disk / "state", tmp_path / "hazwatch.log", options, env=env)
        with ServedMine(config) as mine:
            hazwatch.start()
            try:
                wait_until(lambda: hazwatch.metric("hazwatch_device_online") >= 1, 30, "hazwatch to poll the mine")
                ballast = fill(disk)
                for sensor in METHANE:
                    mine.values.held[sensor] = 1.2
                wait_until(lambda: len(_announced(hazwatch)) >= len(METHANE), 20, "the raises")
                refused = _post(api, f"/sensors/{SITE}/{METHANE[0]}/out_of_service")
                ack = _post(api, f"/alarms/{SITE}/{METHANE[1]}/threshold.high/ack")
                for sensor in METHANE:
                    mine.values.held[sensor] = 0.3
                wait_until(lambda: len(_announced(hazwatch)) >= 2 * len(METHANE), 20, "the clears")
                announced = _announced(hazwatch)
                wait_until(lambda: _ids(operators) >= set(announced), 10, "every alarm at the control room")
                system = [p for p in _payloads(operators) if p["rule"] == "system.disk"]
                pending_while_full = hazwatch.metric("hazwatch_outbox_pending")
                alarms_while_full = _alarms(api)

                ballast.unlink()
                wait_until(
                    lambda: any(p["transition"] == "clear" for p in _payloads(operators) if p["rule"] == "system.disk"),
                    20, "the system alarm to clear",
                )  # fmt: skip
                server = bureau.serve()
                try:
                    wait_until(lambda: _ids(bureau) >= set(announced), 30, "the bureau to get every alarm")
                    wait_until(lambda: hazwatch.metric("hazwatch_outbox_pending") == 0, 20, "an empty outbox")
                finally:
                    server.shutdown()
            finally:
                hazwatch.stop()

    late = {
        p["event_id"]: (d.received_ns - _ns(p["time"])) / 1e9
        for d in operators.deliveries
        if (p := d.payload)["event_id"] in announced and d.received_ns - _ns(p["time"]) > 1e9
    }
    assert not late, f"alarms later than 1 s at the control room: {late}"
    assert all(d.signature_valid for d in operators.deliveries + bureau.deliveries)
    assert system and system[0]["transition"] == "raise" and "cannot write" in system[0]["message"], system
    assert pending_while_full >= len(announced), "the bureau's deliveries wait in memory and are counted"
    assert refused.status_code == 503 and refused.json()["reason"] == "disk", refused.text
    assert ack.status_code == 503, ack.text
    face_t0 = [a for a in alarms_while_full if a["sensor"] == METHANE[0]]
    assert face_t0 and not face_t0[0]["out_of_service"], "a refused action must change nothing"
    sh = [a for a in alarms_while_full if a["sensor"] == METHANE[1]]
    assert sh and not sh[0]["acknowledged"]
    print(f"{len(announced)} alarm events, {len(system)} system alarm(s), worst latency "
          f"{max((d.received_ns - _ns(d.payload['time'])) / 1e9 for d in operators.deliveries):.3f} s")  # fmt: skip


def _payloads(receiver: ThreadedReceiver) -> list[dict]:
    return [d.payload for d in receiver.deliveries]


def _ids(receiver: ThreadedReceiver) -> set[str]:
    return {p["event_id"] for p in _payloads(receiver)}


def _ns(text: str) -> int:
    return parse_rfc3339(text)
