"""systemd's notify protocol (sd_notify(3)), for `Type=notify` units with `WatchdogSec=`.

systemd cannot probe HTTP, so the worker tells it itself: `READY=1` once the detection loop runs, then
`WATCHDOG=1` from that loop every beat. A loop that stops beating (blocked, deadlocked) misses the watchdog and
systemd kills and restarts the worker, as Kubernetes does on a failing `/healthz`. Readiness of the sources is
only reported as `STATUS=`: a worker whose broker is down still polls its Modbus devices and raises alarms,
so it must not be restarted for that.
"""

from __future__ import annotations

import os
import socket


def sd_notify(message: str, socket_path: str | None = None) -> bool:
    """Send `message` to systemd's notify socket; False (and nothing sent) when not run by systemd."""
    path = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path  # '@' names an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True
