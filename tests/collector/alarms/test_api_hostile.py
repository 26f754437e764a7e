"""The operator API against hostile and broken clients: a clear 4xx with the reason, never a 500, nothing
oversized in the audit trail, and connections that stall or trickle are closed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from collector.alarms.actions import AlarmActions
from collector.alarms.api import AlarmApi
from collector.alarms.requests import MAX_BODY_BYTES
from collector.alarms.store import AlarmStore
from collector.app.localservices import free_port
from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES

TOKEN = "t0ken-for-hostile-tests"
SITE, FACE, RULE = "xinyuan-mine", "LW-CH4-T1", "threshold.high"
IDLE_S = BODY_S = 1.0
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Api:
    url: str
    port: int
    lifecycle: AlarmLifecycle
    store: AlarmStore

    def shelve(self, content: bytes | str, path: str = f"/alarms/{SITE}/{FACE}/{RULE}/shelve") -> httpx.Response:
        headers = {**AUTH, "Content-Type": "application/json"}
        return httpx.post(f"{self.url}{path}", content=content, headers=headers, timeout=30)

    def audit(self) -> list:
        return self.store.audit(limit=100)


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    registry = SensorRegistry.from_config(load_config(EXAMPLES / "coal-mine.yaml"))
    lifecycle = AlarmLifecycle()
    slot = registry.slot(SITE, FACE)
    lifecycle.apply([ConditionChange(slot, RULE, "process", 1, "alarm", "high", 1.2, 1.0, 10**9, "CH4 1.2 %")], 10**9)
    store = AlarmStore.in_state_dir(tmp_path)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    actions = AlarmActions(lifecycle, registry, store, lambda events: None)
    server = AlarmApi(actions, token=TOKEN, idle_timeout_s=IDLE_S, body_timeout_s=BODY_S)
    port = free_port()
    url = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", port), loop).result(10)
    yield Api(url, port, lifecycle, store)
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    store.close()


@pytest.mark.parametrize(
    "minutes", ["[30]", '{"m": 30}', "null", "true", '"30"', "NaN", "Infinity", "-5", "0", "1e400", "100000"]
)
def test_minutes_that_is_not_a_number_in_range_is_a_400_naming_the_field(api: Api, minutes: str) -> None:
    response = api.shelve(f'{{"user": "op", "minutes": {minutes}}}')
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("minutes")
    assert not any(a.shelved_until_ns for a in api.lifecycle.active())
    assert api.audit() == []


@pytest.mark.parametrize(("depth", "status"), [(30_000, 400), (100_000, 413)])
def test_a_deeply_nested_document_is_refused_not_a_500(api: Api, depth: int, status: int) -> None:
    """Nested beyond the JSON parser's recursion: 400; the 100k-deep one is over the body limit first."""
    response = api.shelve('{"user": ' + "[" * depth + "]" * depth + "}")
    assert response.status_code == status
    if status == 400:
        assert "JSON" in response.json()["error"]


def test_a_body_over_the_limit_is_refused_413_and_a_900_kb_user_never_reaches_the_audit_trail(api: Api) -> None:
    response = api.shelve('{"user": "' + "x" * 900_000 + '"}')
    assert response.status_code == 413
    assert api.audit() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"user": "' + "x" * 129 + '"}', "user"),
        ('{"user": "op\\nforged audit line"}', "user"),
        ('{"user": ["op"]}', "user"),
        ('{"user": 7}', "user"),
        ('{"user": "op", "comment": "' + "c" * 2001 + '"}', "comment"),
        ('{"user": "op", "comment": {"a": 1}}', "comment"),
    ],
)
def test_user_and_comment_are_bounded_printable_text(api: Api, body: str, field: str) -> None:
    assert len(body) < MAX_BODY_BYTES
    response = api.shelve(body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(field)
    assert api.audit() == []


def test_sensor_actions_check_the_body_the_same_way(api: Api) -> None:
    response = api.shelve('{"user": "' + "x" * 500 + '"}', path=f"/sensors/{SITE}/{FACE}/out_of_service")
    assert response.status_code == 400
    assert not api.lifecycle.out_of_service
    assert api.audit() == []


def test_a_valid_shelve_still_works_and_is_audited_with_what_was_sent(api: Api) -> None:
    response = api.shelve('{"user": "  op  ", "minutes": 30, "comment": "gas test"}')
    assert response.status_code == 200, response.text
    (entry,) = api.audit()
    assert entry.user == "op" and entry.detail == {"minutes": 30.0, "comment": "gas test"}


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float:
    """Seconds until the server closes `sock`, sending `trickle` one byte at a time meanwhile."""
    started = time.monotonic()
    sock.settimeout(0.2)
    sent = 0
    while time.monotonic() - started < seconds:
        if sent < len(trickle):
            try:
                sock.send(trickle[sent : sent + 1])
            except OSError:
                return time.monotonic() - started
            sent += 1
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    raise AssertionError(f"connection still open after {seconds} s")


def test_a_connection_that_sends_nothing_is_closed(api: Api) -> None:
    with socket.create_connection(("127.0.0.1", api.port)) as sock:
        assert _closed_within(sock, IDLE_S + 10) >= IDLE_S * 0.5


def test_a_client_trickling_its_headers_is_cut_off_at_the_idle_timeout(api: Api) -> None:
    request = f"POST /alarms/{SITE}/{FACE}/{RULE}/ack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
    with socket.create_connection(("127.0.0.1", api.port)) as sock:
        _closed_within(sock, IDLE_S + 10, trickle=request.encode() * 10)


def test_a_body_that_stalls_is_answered_408(api: Api) -> None:
    head = (
        f"POST /alarms/{SITE}/{FACE}/{RULE}/ack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\": "
    )
    with socket.create_connection(("127.0.0.1", api.port)) as sock:
        sock.sendall(head.encode())
        sock.settimeout(BODY_S + 10)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert api.audit() == []
