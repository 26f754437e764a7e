"""`hazwatch run CONFIG...`: collect, detect and deliver until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from collector.app.cli.app import EXIT_BAD_CONFIG, app, err_console, load_or_exit, refuse_weak_secrets
from collector.app.runtime import RunOptions, build_runtime, serve
from collector.notify.signing import MissingSecret
from hazwatch.credentials import SecretProblem


@app.command()
def run(
    configs: Annotated[list[Path], typer.Argument(help="site config files (YAML)")],
    influx_url: Annotated[str | None, typer.Option(help="InfluxDB URL (overrides the config)")] = None,
    mqtt_url: Annotated[str | None, typer.Option(help="MQTT broker URL (overrides the config)")] = None,
    webhook_url: Annotated[list[str] | None, typer.Option(help="extra webhook receiving every event")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="alarm state, outbox and spool (overrides the config)")] = None,
    api_port: Annotated[int | None, typer.Option(help="serve the alarm API (needs HAZWATCH_API_TOKEN)")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="serve Prometheus /metrics on this port")] = None,
    status: Annotated[bool, typer.Option("--status/--no-status", help="live terminal table of sensors")] = False,
) -> None:
    """Read every configured sensor, run the detectors and deliver readings and alarms until stopped."""
    config = load_or_exit(configs)
    refuse_weak_secrets(config, api_token=api_port is not None)
    options = RunOptions(
        influx_url=influx_url,
        mqtt_url=mqtt_url,
        webhook_urls=webhook_url or [],
        state_dir=state_dir,
        api_port=api_port,
        metrics_port=metrics_port,
        status_view=status,
    )
    try:
        runtime = build_runtime(config, options)
    except (MissingSecret, SecretProblem) as exc:
        err_console.print(f"[bold red]refused[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None

    async def main() -> None:
        await serve(runtime, asyncio.Event(), api_port)

    asyncio.run(main())
