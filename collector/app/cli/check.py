"""`hazwatch check CONFIG`: validate config files and summarise what they describe."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from collector.app.cli.app import app, console, load_or_exit, refuse_weak_secrets


@app.command()
def check(
    configs: Annotated[list[Path], typer.Argument(help="site config files (YAML)")],
    partitions: Annotated[
        int | None, typer.Option(min=1, help="also show how many sensors each of N partition workers would own")
    ] = None,
    moving_from: Annotated[
        int | None,
        typer.Option("--from", min=1, help="with --partitions N: how many sensors change worker going from this to N"),
    ] = None,
) -> None:
    """Validate site configs and the secrets set in the environment: print a summary, or every problem with its
    field path and exit 2."""
    if moving_from is not None and partitions is None:
        raise typer.BadParameter("needs --partitions N, the count it goes to", param_hint="--from")
    from hazwatch.config import SensorRegistry
    from hazwatch.config.partition import moving_sensors, partition_sizes
    from hazwatch.config.schema import ModbusDevice

    config = load_or_exit(configs)
    refuse_weak_secrets(config)
    registry = SensorRegistry.from_config(config)
    for site in config.sites:
        sensors = [s for s in registry if s.site == site.id]
        modbus = sum(isinstance(d, ModbusDevice) for d in site.devices)
        console.print(
            f"[bold]{site.id}[/] ({site.type}, {site.name or 'unnamed'}): {len(site.areas)} areas, "
            f"{len(site.devices)} devices ({modbus} Modbus, {len(site.devices) - modbus} MQTT), {len(sensors)} sensors"
        )
        table = Table("kind", "sensors", "with limits", box=None, padding=(0, 2))
        kinds = Counter(s.kind.value for s in sensors)
        limited = Counter(s.kind.value for s in sensors if s.limits.high or s.limits.low)
        for kind, count in sorted(kinds.items()):
            table.add_row(kind, str(count), str(limited[kind]))
        console.print(table)
    if partitions is not None:
        sizes = ", ".join(f"{k}/{partitions}: {n}" for k, n in enumerate(partition_sizes(config, partitions)))
        console.print(f"partitions by {config.partitioning.by}: {sizes} sensors")
        if moving_from is not None:
            moving = moving_sensors(config, moving_from, partitions)
            where = ", ".join(f"to {k}/{partitions}: {n}" for k, n in sorted(moving.items())) or "none"
            console.print(
                f"from {moving_from} to {partitions} workers: {moving.total()} of {len(registry)} sensors change"
                f" worker ({where}); their standing alarms move with them (docs/scaling.md)",
                soft_wrap=True,
            )
    console.print(f"[green]ok[/]: {len(config.sites)} site(s), {len(registry)} sensors")
