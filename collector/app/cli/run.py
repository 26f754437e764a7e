"""`hazwatch run CONFIG...`: collect, detect and deliver until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from collector.app.cli.app import EXIT_BAD_CONFIG, app, err_console, load_or_exit, refuse_weak_secrets


@app.command()
def run(
    configs: Annotated[list[Path], typer.Argument(help="site config files (YAML)")],
    influx_url: Annotated[str | None, typer.Option(help="InfluxDB URL (overrides the config)")] = None,
    mqtt_url: Annotated[str | None, typer.Option(help="MQTT broker URL (overrides the config)")] = None,
    webhook_url: Annotated[list[str] | None, typer.Option(help="extra webhook receiving every event")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="alarm state, outbox and spool (overrides the config)")] = None,
    api_port: Annotated[int | None, typer.Option(help="serve the alarm API (needs HAZWATCH_API_TOKEN)")] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve Prometheus /metrics and the /healthz, /readyz probes on this port")
    ] = None,
    metrics_address: Annotated[str, typer.Option(help="address of the metrics port (0.0.0.0 in a pod)")] = "127.0.0.1",
    status: Annotated[bool, typer.Option("--status/--no-status", help="live terminal table of sensors")] = False,
    partition: Annotated[
        str | None, typer.Option(help="K/N: own partition K of N (config partitioning.by; docs/scaling.md)")
    ] = None,
    role: Annotated[
        str, typer.Option(help="standalone; edge: publish reading batches only; core: detect the edges' batches")
    ] = "standalone",
    publish_batches: Annotated[
        bool, typer.Option("--publish-batches", help="standalone: also publish reading batches for core workers")
    ] = False,
    users: Annotated[
        Path | None, typer.Option(help="console users file: serves the alarm console on --api-port at /console")
    ] = None,
) -> None:
    """Read every configured sensor, run the detectors and deliver readings and alarms until stopped."""
    from collector.app.runtime import RunOptions, build_runtime, serve
    from collector.console.users import UsersFileError
    from collector.notify.signing import MissingSecret
    from collector.pipeline.roles import ROLES
    from hazwatch.config.partition import PartitionSpec
    from hazwatch.credentials import SecretProblem

    try:
        spec = PartitionSpec.parse(partition) if partition is not None else None
    except ValueError as exc:
        err_console.print(f"[bold red]--partition[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    if role not in ROLES:
        err_console.print(f"[bold red]--role {role}[/]: use one of {', '.join(ROLES)}")
        raise typer.Exit(EXIT_BAD_CONFIG)
    config = load_or_exit(configs)
    refuse_weak_secrets(config, api_token=api_port is not None)
    options = RunOptions(
        influx_url=influx_url,
        mqtt_url=mqtt_url,
        webhook_urls=webhook_url or [],
        state_dir=state_dir,
        api_port=api_port,
        metrics_port=metrics_port,
        metrics_address=metrics_address,
        status_view=status,
        partition=spec,
        role=role,
        publish_batches=publish_batches,
        users_file=users,
    )
    try:
        runtime = build_runtime(config, options)
    except (MissingSecret, SecretProblem, UsersFileError) as exc:
        err_console.print(f"[bold red]refused[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None

    async def main() -> None:
        await serve(runtime, asyncio.Event(), api_port)

    asyncio.run(main())
