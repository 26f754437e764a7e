"""The example mine served over real Modbus TCP from a test, with chosen sensors held at chosen values."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import yaml

from collector.app.demo import with_free_modbus_ports
from hazwatch.config import load_config
from hazwatch.config.examples import MINE_EXAMPLE
from simulators.modbus_server import MineModbusServers
from simulators.model import SiteModel
from simulators.physics.presets import mine_preset


class HeldValues:
    """The mine preset, except that the sensors in `held` read the value given there."""

    def __init__(self, model: SiteModel) -> None:
        self.model = model
        self.sensors = model.sensors
        self.held: dict[str, float] = {}

    def sample(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        values, quality = self.model.sample(t_s)
        for sensor, value in self.held.items():
            values[self.sensors.index(sensor)] = value
        return values, quality


class ServedMine:
    """The mine's Modbus servers on their own event loop in a thread, for as long as the `with` lasts."""

    def __init__(self, config_path: Path) -> None:
        site = load_config(config_path).sites[0]
        self.values = HeldValues(mine_preset(site, seed=2))
        self.servers = MineModbusServers(site, self.values, update_interval=0.2)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ServedMine:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.servers.start(), self.loop).result(15)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.servers.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def mine_config(path: Path, subscribers: list[dict], state_dir: Path | None = None) -> Path:
    """The example mine on free ports, polled every 0.5 s, notifying `subscribers`, written to `path`."""
    config = with_free_modbus_ports(load_config(MINE_EXAMPLE))
    site = config.sites[0]
    devices = [d.model_copy(update={"poll_interval": 0.5}) for d in site.devices]
    document = config.model_copy(update={"sites": [site.model_copy(update={"devices": devices})]}).model_dump(
        mode="json", exclude_none=True
    )
    document["webhooks"]["subscribers"] = subscribers
    if state_dir is not None:
        document["state_dir"] = str(state_dir)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
