"""vmauth (VictoriaMetrics' auth proxy, Debian package `victoria-metrics`) in front of a victoria-metrics: a real
server that checks a bearer token on the InfluxDB v2 write API.

vmauth takes `Authorization: Token <t>` (InfluxDB's form) as `Bearer <t>` and forwards only a request whose token
is in its config; a request without one is answered 401, one with an unknown token 400
("cannot find the provided auth token").
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from collector.app.localservices import LocalServer, wait_for_port


@dataclass
class LocalVmauth(LocalServer):
    backend: str = ""
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        binary = shutil.which("vmauth")
        if binary is None:
            raise FileNotFoundError("vmauth is not installed (Debian package `victoria-metrics`)")
        config = self.data_dir / "auth.yml"
        config.write_text(f'users:\n- bearer_token: "{self.token}"\n  url_prefix: "{self.backend}"\n')
        self.process = subprocess.Popen(
            [binary, f"-auth.config={config}", f"-httpListenAddr=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, timeout, "vmauth")


def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "vmauth"
    path.mkdir(parents=True, exist_ok=True)
    return path
