"""`hazwatch demo`: a simulated mine and plant through the whole pipeline, on a fresh machine."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from collector.app.cli.app import EXIT_BAD_CONFIG, app, err_console


@app.command()
def demo(
    duration: Annotated[float | None, typer.Option(help="seconds to run; default: until Ctrl-C")] = None,
    influx_url: Annotated[
        str | None, typer.Option(help="use this InfluxDB (database hazwatch, created if missing)")
    ] = None,
    mqtt_url: Annotated[str | None, typer.Option(help="use this MQTT broker")] = None,
    webhook_url: Annotated[list[str] | None, typer.Option(help="receives every alarm event (signed)")] = None,
    seed: Annotated[int, typer.Option(help="simulation seed")] = 1,
    view: Annotated[bool, typer.Option("--view/--no-view", help="live terminal table of every sensor")] = True,
    api_port: Annotated[int | None, typer.Option(help="serve the alarm API (needs HAZWATCH_API_TOKEN)")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus /metrics")] = None,
    users: Annotated[
        Path | None, typer.Option(help="console users file: serves the alarm console on --api-port at /console")
    ] = None,
) -> None:
    """Run a simulated coal mine (Modbus) and chemical plant (MQTT) through the real pipeline."""
    from collector.app.demo import DemoOptions, run_demo
    from collector.console.users import UsersFileError

    options = DemoOptions(
        duration=duration,
        influx_url=influx_url,
        mqtt_url=mqtt_url,
        webhook_urls=webhook_url or [],
        seed=seed,
        status_view=view,
        api_port=api_port,
        metrics_port=metrics_port,
        users_file=users,
    )
    try:
        code = asyncio.run(run_demo(options))
    except UsersFileError as exc:
        err_console.print(f"[bold red]refused[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    raise typer.Exit(code)
