"""`hazwatch demo`: a simulated mine and plant through the whole pipeline, on a fresh machine."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from collector.app.cli.app import app


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
) -> None:
    """Run a simulated coal mine (Modbus) and chemical plant (MQTT) through the real pipeline."""
    from collector.app.demo import DemoOptions, run_demo

    options = DemoOptions(
        duration=duration,
        influx_url=influx_url,
        mqtt_url=mqtt_url,
        webhook_urls=webhook_url or [],
        seed=seed,
        status_view=view,
        api_port=api_port,
        metrics_port=metrics_port,
    )
    raise typer.Exit(asyncio.run(run_demo(options)))
