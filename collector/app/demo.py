"""The demo: a simulated mine (Modbus) and plant (MQTT) feeding the real pipeline, with nothing installed by hand.

It uses the InfluxDB and broker it is given, otherwise starts private `influxd` and `mosquitto`
processes on free ports when they are installed, otherwise falls back to an in-process MQTT
broker and a line-protocol file, and stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from collector.app.embedded_broker import embedded_broker
from collector.app.localservices import free_ports, local_influxd, local_mosquitto
from collector.app.runtime import RunOptions, build_runtime, serve
from hazwatch.config import HazwatchConfig, load_configs
from hazwatch.config.examples import MINE_EXAMPLE, PLANT_EXAMPLE
from hazwatch.config.schema import ModbusDevice
from hazwatch.quality import Quality
from simulators.modbus_server import MineModbusServers
from simulators.mqtt_publisher import MqttSitePublisher
from simulators.overlay import QualityOverlay, ScriptedState
from simulators.physics.presets import mine_preset, plant_preset

log = logging.getLogger("hazwatch.demo")

DEMO_CONFIGS = (MINE_EXAMPLE, PLANT_EXAMPLE)
METHANE_EVENT_AT_S = 10.0
PUBLISH_INTERVAL_S = 1.0
DEMO_STATES = [
    # A catalytic-bead test: 50 %LEL test gas, flagged, for half a minute: recorded, never a process alarm.
    ScriptedState("TF2-LEL-3", 15.0, 45.0, Quality.CALIBRATION, 50.0),
    # A return temperature head fails: the substation sends its 'invalid' sentinel from then on.
    ScriptedState("LW-TEMP-T2", 20.0, float("inf"), Quality.FAULT),
]
OUTAGE_DEVICE = "ss-chamber1"
OUTAGE_S = (30.0, 45.0)
"""The chamber's monitor drops off the network for 15 s: its sensors go offline, never to zero."""


@dataclass
class DemoOptions:
    duration: float | None = 60.0
    influx_url: str | None = None
    mqtt_url: str | None = None
    webhook_urls: Sequence[str] = ()
    seed: int = 1
    status_view: bool = True
    configs: Sequence[Path] = DEMO_CONFIGS
    api_port: int | None = None
    metrics_port: int | None = None
    users_file: Path | None = None


def with_free_modbus_ports(config: HazwatchConfig) -> HazwatchConfig:
    """Every Modbus device on its own free loopback port, so the demo never collides with anything running."""
    sites = []
    modbus_count = sum(isinstance(d, ModbusDevice) for site in config.sites for d in site.devices)
    ports = iter(free_ports(modbus_count))
    for site in config.sites:
        devices = [
            d.model_copy(
                update={
                    "host": "127.0.0.1",
                    "port": next(ports),
                    "transport": "tcp" if d.transport == "serial" else d.transport,
                    "serial": None,
                }
            )
            if isinstance(d, ModbusDevice)
            else d
            for d in site.devices
        ]
        sites.append(site.model_copy(update={"devices": devices}))
    return config.model_copy(update={"sites": sites})


@contextlib.asynccontextmanager
async def _broker(url: str | None) -> AsyncIterator[tuple[str, str, str]]:
    """(url, protocol, description) of the broker to use: the given one, a private mosquitto, or in-process."""
    if url:
        yield url, "5", f"MQTT broker {url}"
    elif shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists():
        with local_mosquitto() as broker:
            yield broker.url, "5", f"private mosquitto on {broker.url}"
    else:
        async with embedded_broker() as broker:
            yield broker.url, broker.protocol, f"in-process MQTT broker on {broker.url} (mosquitto not installed)"


@contextlib.contextmanager
def _storage(url: str | None, workdir: Path):
    """(influx url or None, line-protocol file or None, description)."""
    if url:
        yield url, None, f"InfluxDB {url}, database hazwatch"
    elif shutil.which("influxd"):
        with local_influxd(workdir / "influxd") as server:
            yield (
                server.url,
                None,
                f"private influxd on {server.url} (data in {workdir / 'influxd'}), database hazwatch",
            )
    else:
        path = workdir / "readings.lp"
        yield None, path, f"line protocol file {path} (influxd not installed)"


def _demo_webhook_secret(env_name: str) -> str | None:
    """The demo signs with the caller's secret, or makes one up and says so (the receiver needs it to verify)."""
    if os.environ.get(env_name):
        return None
    os.environ[env_name] = secrets.token_hex(16)
    return os.environ[env_name]


async def _device_outage(servers: MineModbusServers) -> None:
    await asyncio.sleep(OUTAGE_S[0])
    await servers.stop_device(OUTAGE_DEVICE)
    await asyncio.sleep(OUTAGE_S[1] - OUTAGE_S[0])
    await servers.start_device(OUTAGE_DEVICE)


async def run_demo(options: DemoOptions) -> int:
    config = with_free_modbus_ports(load_configs(list(options.configs)))
    # The examples' subscribers point at receivers that do not exist here: the demo notifies only --webhook-url.
    config = config.model_copy(update={"webhooks": config.webhooks.model_copy(update={"subscribers": []})})
    secret_env = config.webhooks.secret_env
    made_up_secret = _demo_webhook_secret(secret_env) if options.webhook_urls else None
    if made_up_secret:
        print(f"webhooks are signed with {secret_env}={made_up_secret}")
    workdir = Path(tempfile.mkdtemp(prefix="hazwatch-demo-"))
    (workdir / "influxd").mkdir()
    started = time.monotonic()
    async with _broker(options.mqtt_url) as (mqtt_url, protocol, broker_text):
        with _storage(options.influx_url, workdir) as (influx_url, lp_file, storage_text):
            servers = [
                MineModbusServers(
                    site,
                    QualityOverlay(
                        mine_preset(site, seed=options.seed, methane_event_at_s=METHANE_EVENT_AT_S), DEMO_STATES
                    ),
                )
                for site in config.sites
                if any(isinstance(d, ModbusDevice) for d in site.devices)
            ]
            publishers = [
                MqttSitePublisher(
                    site, QualityOverlay(plant_preset(site, seed=options.seed), DEMO_STATES), mqtt_url, protocol
                )
                for site in config.sites
                if any(d.protocol == "mqtt" for d in site.devices)
            ]
            runtime = build_runtime(
                config,
                RunOptions(
                    influx_url=influx_url,
                    line_protocol_file=lp_file,
                    mqtt_url=mqtt_url,
                    mqtt_protocol=protocol,
                    webhook_urls=options.webhook_urls,
                    state_dir=workdir / "state",
                    api_port=options.api_port,
                    metrics_port=options.metrics_port,
                    status_view=options.status_view,
                    users_file=options.users_file,
                ),
            )
            for server in servers:
                await server.start()
            for publisher in publishers:
                publisher.connect()
            tasks = [asyncio.create_task(p.run(PUBLISH_INTERVAL_S)) for p in publishers]
            tasks += [
                asyncio.create_task(_device_outage(server)) for server in servers if OUTAGE_DEVICE in server.endpoints
            ]
            stop = asyncio.Event()
            if options.duration is not None:
                asyncio.get_running_loop().call_later(options.duration, stop.set)
            try:
                await serve(runtime, stop, options.api_port)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for publisher in publishers:
                    publisher.close()
                for server in servers:
                    await server.stop()
            print(f"\nhazwatch demo ran {time.monotonic() - started:.0f} s over {len(runtime.registry)} sensors.")
            print(f"  readings and alarms: {storage_text}")
            print(f"  MQTT: {broker_text}")
            print(f"  alarm state, webhook outbox and audit trail: {workdir / 'state'}")
            if influx_url and not options.influx_url:
                print("  (the private influxd stops with the demo; pass --influx-url to keep the data)")
    return 0
