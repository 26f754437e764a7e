"""`hazwatch status --influx-url URL`: the live terminal view of a running system, read from InfluxDB.

The same view the pipeline feeds directly (collector/views/status.py), here fed every few
seconds with each sensor's newest reading and the active alarms from the database, so an
operator can watch a site over SSH from any machine that reaches its InfluxDB.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from collector.app.cli.app import (
    EXIT_RUNTIME,
    InfluxCaFile,
    app,
    console,
    err_console,
    influx_credentials,
    load_or_exit,
)
from hazwatch.credentials import redact

if TYPE_CHECKING:
    from collector.views.status import InfluxSnapshot, StatusView
    from hazwatch.batch import ReadingBatch
    from hazwatch.events import AlarmEvent

    Snapshot = tuple[ReadingBatch, list[AlarmEvent]]


def fetch(snapshot: InfluxSnapshot, slot_of: dict[tuple[str, str], int]) -> Snapshot:
    return snapshot.readings(slot_of), snapshot.active_alarms(slot_of)


def apply(view: StatusView, fetched: Snapshot) -> None:
    """On the view's own thread, so a render never sees the alarm list half replaced."""
    batch, events = fetched
    view.submit(batch)
    view.active.clear()
    view.submit_events(events)


async def _watch(view: StatusView, snapshot: InfluxSnapshot, slot_of: dict[tuple[str, str], int], every: float) -> None:
    import httpx

    async def poll() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                apply(view, await asyncio.to_thread(fetch, snapshot, slot_of))
            except (httpx.HTTPError, RuntimeError) as exc:
                err_console.print(f"[red]InfluxDB read failed, retrying[/]: {exc}")

    poller = asyncio.create_task(poll())
    try:
        await view.run()
    finally:
        poller.cancel()


@app.command()
def status(
    influx_url: Annotated[str, typer.Option("--influx-url", help="InfluxDB of the running system")],
    config: Annotated[
        list[Path] | None, typer.Option("--config", help="site config(s): adds names, units and limits")
    ] = None,
    database: Annotated[str, typer.Option(help="InfluxDB database")] = "hazwatch",
    every: Annotated[float, typer.Option(help="seconds between refreshes")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="print one snapshot and exit")] = False,
    save_svg: Annotated[
        Path | None, typer.Option("--save-svg", help="with --once: also save the snapshot as an SVG picture")
    ] = None,
    influx_ca_file: InfluxCaFile = None,
) -> None:
    """Live terminal view of every sensor (value, level colour, trend, health) and the active alarms."""
    import httpx

    from collector.storage.query import InfluxQuery
    from collector.views.status import InfluxSnapshot, StatusView, ViewSensor
    from hazwatch.config import SensorRegistry

    snapshot = InfluxSnapshot(InfluxQuery(influx_url, database, credentials=influx_credentials(influx_ca_file)))
    try:
        sensors: list[ViewSensor] = SensorRegistry.from_config(load_or_exit(config)).sensors if config else []
        if not sensors:
            sensors = list(snapshot.sensors())
        slot_of = {(s.site, s.sensor): slot for slot, s in enumerate(sensors)}
        view = StatusView(sensors, console=console)
        apply(view, fetch(snapshot, slot_of))
    except (httpx.HTTPError, RuntimeError) as exc:
        err_console.print(f"[bold red]cannot read InfluxDB[/] at {redact(influx_url)}: {redact(str(exc))}")
        raise typer.Exit(EXIT_RUNTIME) from None
    if once:
        if save_svg is None:
            console.print(view.render())
            return
        recorder = Console(record=True, width=max(console.width, 200), force_terminal=True)
        recorder.print(view.render())
        recorder.save_svg(str(save_svg), title="hazwatch status")
        console.print(f"saved {save_svg}")
        return
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_watch(view, snapshot, slot_of, every))
