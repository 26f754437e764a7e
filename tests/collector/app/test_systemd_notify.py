"""Under systemd (`Type=notify`, `WatchdogSec=`) a worker reports ready and then feeds the watchdog from its
detection loop: a real `hazwatch run` process talking to a real notify socket, as systemd would hold it."""

from __future__ import annotations

import socket
import time

from tests.support.workers import plant_config, worker


def test_a_worker_tells_systemd_it_is_ready_then_feeds_the_watchdog_every_second(tmp_path, mosquitto) -> None:
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(60)
    config = plant_config(tmp_path, "edge")
    edge = worker(tmp_path, "edge", config, mosquitto.url, "http://127.0.0.1:9", "--role", "edge")
    edge.env["NOTIFY_SOCKET"] = path
    edge.start()
    messages: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum("WATCHDOG=1" in m for m in messages) < 3:
            messages.append(listener.recv(4096).decode())
        edge.wait_ready()
        while "STATUS=ready" not in "".join(messages) and time.monotonic() < deadline:
            messages.append(listener.recv(4096).decode())
    finally:
        assert edge.stop() == 0, edge.log()
        listener.close()
    assert messages[0] == "READY=1"
    assert sum("WATCHDOG=1" in m for m in messages) >= 3
    assert "STATUS=ready: 1 source(s) running" in "".join(messages)
