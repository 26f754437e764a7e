"""A real Debian `prometheus-alertmanager` on a free port, with basic auth and a webhook receiver behind it."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import httpx
import yaml

from collector.app.localservices import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
USER, PASSWORD = "hazwatch", "am-test-password"


@dataclass
class LocalAlertmanager:
    url: str
    process: subprocess.Popen

    def alerts(self) -> list[dict]:
        """Alertmanager's own view: every alert it holds (active or not)."""
        answer = httpx.get(f"{self.url}/api/v2/alerts", auth=(USER, PASSWORD), timeout=5)
        answer.raise_for_status()
        return answer.json()


@contextlib.contextmanager
def local_alertmanager(
    receiver_url: str, resolve_timeout: str = "3s", group_interval: str = "1s", repeat_interval: str = "2s"
) -> Iterator[LocalAlertmanager]:
    """Short timings so a test sees resolve_timeout pass within seconds; basic auth as a plant would set it."""
    folder = Path(tempfile.mkdtemp(prefix="hazwatch-am-"))
    config = {
        "global": {"resolve_timeout": resolve_timeout},
        "route": {
            "receiver": "hook",
            "group_by": ["alertname", "site", "sensor"],
            "group_wait": "100ms",
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "hook", "webhook_configs": [{"url": receiver_url, "send_resolved": True}]}],
    }
    (folder / "alertmanager.yml").write_text(yaml.safe_dump(config))
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (folder / "web.yml").write_text(yaml.safe_dump({"basic_auth_users": {USER: hashed}}))
    port = free_port()
    log_file = (folder / "alertmanager.log").open("wb")  # a file, not a pipe: a full pipe would stall it
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={folder / 'alertmanager.yml'}",
            f"--web.config.file={folder / 'web.yml'}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {(folder / 'alertmanager.log').read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", auth=(USER, PASSWORD), timeout=0.5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("alertmanager did not become ready within 30 s")
            time.sleep(0.1)
        yield LocalAlertmanager(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()
        shutil.rmtree(folder, ignore_errors=True)
