"""`hazwatch report CONFIG --influx-url URL --from T --to T --out FILE`: a static HTML or PNG report."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from collector.app.cli.app import (
    EXIT_BAD_CONFIG,
    EXIT_RUNTIME,
    InfluxCaFile,
    app,
    console,
    err_console,
    influx_credentials,
    load_or_exit,
)
from hazwatch.credentials import redact

_RELATIVE = re.compile(r"^now(?:-(\d+)([smhd]))?$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now_ns: int) -> int:
    """`now`, `now-6h` (s/m/h/d) or ISO 8601 (UTC when no offset is given) → Unix ns."""
    if match := _RELATIVE.match(text.strip()):
        amount, unit = match.groups()
        return now_ns - (int(amount) * _SECONDS[unit] * 1_000_000_000 if amount else 0)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1e9)


@app.command()
def report(
    configs: Annotated[list[Path], typer.Argument(help="site config files (YAML)")],
    influx_url: Annotated[str, typer.Option("--influx-url", help="InfluxDB holding the readings and alarms")],
    out: Annotated[Path, typer.Option("--out", help="report file: .html (per-area plots + alarm table) or .png")],
    start: Annotated[str, typer.Option("--from", help="start: ISO 8601 or now-6h")] = "now-6h",
    end: Annotated[str, typer.Option("--to", help="end: ISO 8601 or now")] = "now",
    database: Annotated[str, typer.Option(help="InfluxDB database")] = "hazwatch",
    area: Annotated[list[str] | None, typer.Option("--area", help="only these areas (repeatable)")] = None,
    sensor: Annotated[list[str] | None, typer.Option("--sensor", help="only these sensors (repeatable)")] = None,
    influx_ca_file: InfluxCaFile = None,
) -> None:
    """Plots of every sensor's readings against its limit bands, with the alarm spans shaded."""
    import httpx

    from collector.storage.query import InfluxQuery
    from collector.views.report import write_report
    from hazwatch.config import SensorRegistry

    if out.suffix.lower() not in (".html", ".png"):
        err_console.print(f"[bold red]--out[/] must end in .html or .png, not {out.suffix or 'nothing'}")
        raise typer.Exit(EXIT_BAD_CONFIG)
    sensors = [
        s
        for s in SensorRegistry.from_config(load_or_exit(configs))
        if (not area or s.area in area) and (not sensor or s.sensor in sensor)
    ]
    if not sensors:
        err_console.print("[bold red]no sensor[/] of the configs matches --area / --sensor")
        raise typer.Exit(EXIT_BAD_CONFIG)
    now_ns = time.time_ns()
    try:
        start_ns, end_ns = parse_time(start, now_ns), parse_time(end, now_ns)
    except ValueError as exc:
        err_console.print(f"[bold red]bad time[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    if start_ns >= end_ns:
        err_console.print("[bold red]--from must be before --to[/]")
        raise typer.Exit(EXIT_BAD_CONFIG)
    try:
        reader = InfluxQuery(influx_url, database, credentials=influx_credentials(influx_ca_file))
        spans = write_report(sensors, reader, start_ns, end_ns, out)
    except (httpx.HTTPError, RuntimeError) as exc:
        err_console.print(f"[bold red]cannot read InfluxDB[/] at {redact(influx_url)}: {redact(str(exc))}")
        raise typer.Exit(EXIT_RUNTIME) from None
    console.print(f"[green]ok[/]: {out} ({len(sensors)} sensors, {len(spans)} alarm spans)")
