"""The simulated devices of the Modbus measurement, in their own process: pymodbus servers for every
device of every replicated mine. Prints READY once all listen; stops when stdin closes."""

from __future__ import annotations

import asyncio
import json
import sys

from benchmarks.modbus import modbus_fleet
from simulators.modbus_server import MineModbusServers
from simulators.physics.presets import mine_preset


async def main(sites: int, ports: list[int]) -> None:
    config = modbus_fleet(sites, ports)
    servers = [
        MineModbusServers(site, mine_preset(site, seed=i), update_interval=None) for i, site in enumerate(config.sites)
    ]
    for server in servers:
        await server.start()
    print("READY", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for server in servers:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main(**json.loads(sys.argv[1])))
