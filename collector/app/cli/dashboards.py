"""`hazwatch dashboards build|push`: Grafana dashboards from the site config, to disk or to a Grafana."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import typer

from collector.app.cli.app import EXIT_BAD_CONFIG, EXIT_RUNTIME, app, console, err_console, load_or_exit

dashboards_app = typer.Typer(help="Generate Grafana dashboards from site configs; provision them by file or API.")
app.add_typer(dashboards_app, name="dashboards")

ConfigsArg = Annotated[list[Path], typer.Argument(help="site config files (YAML)")]
InfluxOpt = Annotated[
    str | None,
    typer.Option("--influx-url", help="InfluxDB URL as Grafana reaches it (default: the config's influxdb.url)"),
]


@dashboards_app.command("build")
def build(
    configs: ConfigsArg,
    out: Annotated[Path, typer.Option("--out", help="provisioning tree to write or merge into")],
    influx_url: InfluxOpt = None,
) -> None:
    """Write a Grafana provisioning tree (datasources/, dashboards/, alerting/); several configs merge into one DIR."""
    from dashboards.provisioning import write_tree

    loaded = [load_or_exit([path]) for path in configs]
    written = write_tree(loaded, out, influx_url)
    console.print(f"[green]ok[/]: {len(written)} dashboards in {out} (mount it at /etc/grafana/provisioning)")


@dashboards_app.command("push")
def push_command(
    configs: ConfigsArg,
    grafana_url: Annotated[str, typer.Option("--grafana-url", help="e.g. http://grafana:3000")],
    influx_url: InfluxOpt = None,
    deadman: Annotated[bool, typer.Option(help="also create the heartbeat dead-man alert rule")] = True,
) -> None:
    """Create or update folder, datasource and dashboards in Grafana (token from $GRAFANA_TOKEN); idempotent."""
    from grafana_client.client import GrafanaException

    from dashboards.push import TOKEN_ENV, push

    loaded = [load_or_exit([path]) for path in configs]
    token = os.environ.get(TOKEN_ENV)
    if not token and not urlparse(grafana_url).password:
        err_console.print(f"[bold red]no credentials[/]: set {TOKEN_ENV} to a Grafana service-account token")
        raise typer.Exit(EXIT_BAD_CONFIG)
    try:
        result = push(loaded, grafana_url, token, influx_url, deadman=deadman)
    except GrafanaException as exc:
        err_console.print(f"[bold red]Grafana refused[/]: {exc.message}")
        raise typer.Exit(EXIT_RUNTIME) from None
    console.print(f"[green]ok[/]: created {len(result.created)}, updated {len(result.updated)} in {grafana_url}")
