"""`hazwatch simulate mine CONFIG`: serve a simulated coal mine's Modbus devices from its site config."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from collector.app.cli.app import EXIT_BAD_CONFIG, EXIT_RUNTIME, console, err_console, load_or_exit
from collector.app.cli.scenario_cli import SiteKind
from collector.app.cli.scenario_cli import export as export_scenario
from collector.app.cli.simulate import ExportOption, ScenarioOption, simulate_app

if TYPE_CHECKING:
    from hazwatch.config.schema import Site
    from simulators.modbus_server import MineModbusServers


async def _serve(servers: MineModbusServers, duration: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await servers.start()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(duration):
                await stop.wait()
    finally:
        await servers.stop()


@simulate_app.command()
def mine(
    config: Annotated[Path, typer.Argument(help="coal-mine site config (YAML)")],
    seed: Annotated[int, typer.Option(help="noise seed: the same seed gives the same run")] = 0,
    host: Annotated[str, typer.Option(help="address the Modbus servers listen on")] = "127.0.0.1",
    port_offset: Annotated[int, typer.Option(help="added to every device's configured port")] = 0,
    duration: Annotated[float | None, typer.Option(help="seconds to run (default: until Ctrl-C)")] = None,
    methane_event: Annotated[
        bool, typer.Option(help="face methane surge 5 s after start: T0, T1, shearer pass 1.0 % and 1.5 %, then fall")
    ] = False,
    scenario: ScenarioOption = None,
    export: ExportOption = None,
) -> None:
    """Serve every Modbus register of a mine config with plausible values (noise, shearer cycle)."""
    from hazwatch.config.schema import ModbusDevice
    from simulators.modbus_server import MineModbusServers
    from simulators.physics.presets import mine_preset
    from simulators.scenarios.loader import load_scenario, scenario_model

    if export is not None:
        export_scenario(SiteKind.mine, config, scenario, export)
        return
    loaded = load_or_exit([config])
    sites: list[Site] = [s for s in loaded.sites if any(isinstance(d, ModbusDevice) for d in s.devices)]
    if not sites:
        err_console.print(f"[bold red]no Modbus devices[/] in {config}")
        raise typer.Exit(EXIT_BAD_CONFIG)
    site = sites[0]
    ports = {d.id: d.port + port_offset for d in site.devices if isinstance(d, ModbusDevice)}
    if any(not 1 <= port <= 65535 for port in ports.values()):
        err_console.print(f"[bold red]--port-offset {port_offset}[/] puts a port outside 1..65535")
        raise typer.Exit(EXIT_BAD_CONFIG)
    model = (
        scenario_model(loaded, load_scenario(scenario))
        if scenario
        else mine_preset(site, seed=seed, methane_event_at_s=5.0 if methane_event else None)
    )
    servers = MineModbusServers(site, model, port_override=ports, host=host)
    for device, (bind, port) in servers.endpoints.items():
        console.print(f"[bold]{site.id}/{device}[/] on {bind}:{port}")
    try:
        asyncio.run(_serve(servers, duration))
    except OSError as exc:
        err_console.print(f"[bold red]simulator failed[/]: {exc}")
        raise typer.Exit(EXIT_RUNTIME) from None
