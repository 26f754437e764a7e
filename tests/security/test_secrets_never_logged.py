"""No secret appears in anything hazwatch prints: the processes of a hardened site (TLS broker with client
certificates and passwords, InfluxDB with auth over HTTPS, signed webhooks, the operator API) run with
every secret set, including passwords typed into URLs and a refused login that makes hazwatch warn, and
every stdout and stderr is searched for every secret."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import httpx
import pytest
import yaml

from collector.app.localservices import LocalInfluxd, LocalMosquitto, free_port
from hazwatch.config.examples import PLANT_EXAMPLE
from tests.support.tls import Pki, make_pki
from tests.support.waiting import wait_until

SECRETS = {
    "mqtt_password": "mqtt-secret-Q7x2-collector",
    "sim_password": "mqtt-secret-W3k9-simulator",
    "influx_password": "influx-secret-R5m1-admin",
    "influx_wrong_password": "influx-secret-Z8p4-typo",
    "webhook_secret": "webhook-secret-H2v6-shared-one",
    "bureau_secret": "webhook-secret-B9c3-bureau-own",
    "api_token": "api-token-T4n8-operators-console",
}
HAZWATCH = [sys.executable, "-m", "collector"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def broker(pki: Pki, tmp_path: Path) -> Iterator[LocalMosquitto]:
    users = {"hazwatch": SECRETS["mqtt_password"], "sim": SECRETS["sim_password"]}
    server = LocalMosquitto(port=free_port(), data_dir=tmp_path / "mosquitto", tls=pki.server, users=users)
    server.data_dir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influxd(pki: Pki, tmp_path: Path) -> Iterator[LocalInfluxd]:
    server = LocalInfluxd(
        port=free_port(), data_dir=tmp_path / "influxd", admin=("admin", SECRETS["influx_password"]), tls=pki.server
    )
    server.data_dir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def hardened_config(tmp_path: Path, pki: Pki, broker: LocalMosquitto, receiver: str) -> Path:
    bureau_secret = tmp_path / "bureau-secret"
    bureau_secret.write_text(SECRETS["bureau_secret"])
    bureau_secret.chmod(0o600)
    config = yaml.safe_load(PLANT_EXAMPLE.read_text())
    config["mqtt"] = {
        "url": broker.url,
        "ca_file": str(pki.ca_file),
        "cert_file": str(pki.client_cert),
        "key_file": str(pki.client_key),
    }
    config["influxdb"] = {"ca_file": str(pki.ca_file)}
    config["webhooks"] = {
        "subscribers": [
            {"name": "control-room", "url": receiver},
            {"name": "bureau", "url": receiver, "secret_file": str(bureau_secret)},
        ]
    }
    path = tmp_path / "hardened-plant.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_no_secret_appears_in_any_output_of_a_hardened_site(tmp_path, pki, broker, influxd, receiver) -> None:
    config = hardened_config(tmp_path, pki, broker, receiver)
    env = {
        **os.environ,
        "HAZWATCH_MQTT_USER": "hazwatch",
        "HAZWATCH_MQTT_PASSWORD": SECRETS["mqtt_password"],
        "HAZWATCH_WEBHOOK_SECRET": SECRETS["webhook_secret"],
        "HAZWATCH_API_TOKEN": SECRETS["api_token"],
    }
    outputs: dict[str, str] = {}
    metrics_port, api_port = free_port(), free_port()
    # The password typed into URLs, as the issue saw: the simulator's broker URL and a mistyped InfluxDB one.
    sim_url = f"mqtts://sim:{SECRETS['sim_password']}@127.0.0.1:{broker.port}"
    influx_url = f"https://admin:{SECRETS['influx_wrong_password']}@127.0.0.1:{influxd.port}"
    simulator = subprocess.Popen(
        [*HAZWATCH, "simulate", "plant", str(config), "--mqtt-url", sim_url, "--interval", "0.5", "--duration", "40"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    collector = subprocess.Popen(
        [*HAZWATCH, "--log-level", "DEBUG", "run", str(config), "--influx-url", influx_url,
         "--state-dir", str(tmp_path / "state"), "--metrics-port", str(metrics_port), "--api-port", str(api_port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def ingested() -> bool:
            try:
                text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=1).text
            except httpx.HTTPError:
                return False
            lines = [line for line in text.splitlines() if line.startswith("hazwatch_readings_ingested_total")]
            return any(float(line.split()[-1]) > 0 for line in lines)

        wait_until(ingested, 60, "readings from the TLS broker (client certificate and password from the env)")
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{api_port}/alarms", timeout=1,
                                     headers={"Authorization": f"Bearer {SECRETS['api_token']}"}).status_code == 200,
                   30, "the operator API")  # fmt: skip
        time.sleep(3)  # the refused InfluxDB login has been retried and warned about
    finally:
        for name, process in (("run", collector), ("simulate plant", simulator)):
            process.send_signal(signal.SIGINT)
            try:
                out, err = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            outputs[f"{name} stdout"], outputs[f"{name} stderr"] = out, err

    status = subprocess.run(
        [*HAZWATCH, "status", "--influx-url", influx_url, "--influx-ca-file", str(pki.ca_file), "--once"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    outputs["status stdout"], outputs["status stderr"] = status.stdout, status.stderr
    assert status.returncode != 0, "the mistyped password is refused"

    assert "not writable" in outputs["run stderr"] and "401" in outputs["run stderr"], "hazwatch did warn"
    assert "***" in outputs["run stderr"], "the URL is shown, its password blanked"
    assert f"127.0.0.1:{broker.port}" in outputs["simulate plant stdout"], "the simulator says where it publishes"
    for where, text in outputs.items():
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} appears in {where}"
