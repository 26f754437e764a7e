"""Modbus polling: hazwatch's sources reading many simulated substations as fast as they answer.

The example mine's six substations (float32 ABCD, int16 scaled, RTU over TCP, bits, int64 …) are
replicated per mine on their own ports and served by pymodbus servers in a separate process; one
hazwatch process polls every device back to back (no poll interval) for the measured time, through
the real ModbusSource: request planning, the pymodbus client, numpy decoding into batches.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from benchmarks.fleet import replicate
from benchmarks.procs import ROOT
from collector.app.localservices import free_ports
from collector.sources.modbus.source import modbus_sources
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig, ModbusDevice


def devices_per_site() -> int:
    return sum(isinstance(d, ModbusDevice) for d in replicate(1).sites[0].devices)


def modbus_fleet(sites: int, ports: list[int]) -> HazwatchConfig:
    """`sites` mines; device j of mine i listens on ports[i * devices + j] of 127.0.0.1."""
    config = replicate(sites)
    out = []
    for i, site in enumerate(config.sites):
        devices = [
            d.model_copy(update={"host": "127.0.0.1", "port": ports[i * len(site.devices) + j], "timeout": 5.0})
            for j, d in enumerate(site.devices)
        ]
        out.append(site.model_copy(update={"devices": devices}))
    return config.model_copy(update={"sites": out})


async def _poll(config: HazwatchConfig, seconds: float) -> dict:
    registry = SensorRegistry.from_config(config)
    sources = modbus_sources(config, registry)
    counts = {"polls": 0, "requests": 0, "registers": 0, "readings": 0, "offline": 0}
    deadline = time.perf_counter() + seconds

    async def loop(source) -> None:
        per_poll = len(source.requests)
        words = sum(r.count for r in source.requests)
        while time.perf_counter() < deadline:
            batch = await source.poll_once()
            counts["polls"] += 1
            counts["requests"] += per_poll
            counts["registers"] += words
            counts["readings"] += len(batch)
            counts["offline"] += int((batch.quality != 0).sum())

    for source in sources:  # connect once before timing
        await source.poll_once()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(loop(s) for s in sources))
    elapsed = time.perf_counter() - started
    for source in sources:
        source.link.drop()
    return {
        "devices": len(sources),
        "sensors": len(registry),
        "seconds": elapsed,
        "requests_per_s": counts["requests"] / elapsed,
        "registers_per_s": counts["registers"] / elapsed,
        "readings_per_s": counts["readings"] / elapsed,
        "polls": counts["polls"],
        "non_good_readings": counts["offline"],
    }


def measure(sites: int, seconds: float) -> dict:
    ports = free_ports(sites * devices_per_site())
    servers = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.modbus_servers", json.dumps({"sites": sites, "ports": ports})],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if servers.stdout.readline().strip() != "READY":
            raise RuntimeError("Modbus simulator process did not start")
        return asyncio.run(_poll(modbus_fleet(sites, ports), seconds))
    finally:
        servers.communicate(timeout=60)
