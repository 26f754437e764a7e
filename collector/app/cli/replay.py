"""`hazwatch replay FILE --config CONFIG`: run recorded or exported readings through the detectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from collector.app.cli.app import EXIT_BAD_CONFIG, EXIT_RUNTIME, app, console, err_console, load_or_exit

if TYPE_CHECKING:
    from collector.evaluation.replay.runner import ReplayResult
    from collector.evaluation.replay.summary import ReplaySummary
    from hazwatch.batch import ReadingBatch
    from hazwatch.config.registry import SensorRegistry


def _replay(
    file: Path, configs: list[Path], label: str, speed: float | None, batch_s: float
) -> tuple[ReplayResult, SensorRegistry]:
    from collector.evaluation.replay.runner import ReplayRunner
    from collector.evaluation.replay.stack import build_stack
    from collector.sources.replay.readers import ReadingFile
    from hazwatch.config.registry import SensorRegistry

    config = load_or_exit(configs)
    registry = SensorRegistry.from_config(config)
    reading_file = ReadingFile(file, registry)
    total = reading_file.total_rows
    with Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} readings"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=total, rate="")

        def advance(rows: int, _clock_ns: int) -> None:
            elapsed = progress.tasks[task].elapsed or 0.0
            done = progress.tasks[task].completed + rows
            progress.update(task, advance=rows, rate=f"{done / elapsed:,.0f}/s" if elapsed > 0 else "")

        runner = ReplayRunner(build_stack(config, registry), batch_s=batch_s, speed=speed, on_progress=advance)
        result = runner.run(reading_file.batches())
    if reading_file.rows_skipped:
        err_console.print(
            f"[yellow]{reading_file.rows_skipped:,} rows skipped[/]: sensors not in the config "
            f"({', '.join(sorted(reading_file.resolver.unknown)[:5])}…)"
        )
    return result, registry


def _filtered(file: Path, registry: SensorRegistry) -> Iterator[ReadingBatch]:
    from collector.sources.replay.readers import ReadingFile

    yield from ReadingFile(file, registry).batches()


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="readings: CSV (long or wide), Parquet, or InfluxDB line protocol")],
    config: Annotated[list[Path], typer.Option("--config", "-c", help="site config file(s) (YAML)")],
    speed: Annotated[float | None, typer.Option(help="replay at N× real time (default: as fast as possible)")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="as fast as possible (the default)")] = False,
    batch_seconds: Annotated[
        float, typer.Option(help="readings handed to the detectors per batch, in data time")
    ] = 1.0,
    events_out: Annotated[Path | None, typer.Option(help="write alarm events: .jsonl or .csv")] = None,
    report: Annotated[Path | None, typer.Option(help="write an HTML report with KPIs and plots")] = None,
    compare: Annotated[
        Path | None, typer.Option(help="a second config: replay with both and compare alarms and KPIs")
    ] = None,
) -> None:
    """Replay readings through the same detector stack as `hazwatch run`; deterministic for the same input."""
    from collector.evaluation.replay.events_out import write_events
    from collector.evaluation.replay.report import write_report
    from collector.evaluation.replay.summary import summarise
    from hazwatch.recordings import ReplayFileError

    if speed is not None and (fast or speed <= 0):
        err_console.print("[bold red]--speed[/] must be positive and cannot be combined with --fast")
        raise typer.Exit(EXIT_BAD_CONFIG)
    if batch_seconds <= 0:
        err_console.print("[bold red]--batch-seconds[/] must be positive")
        raise typer.Exit(EXIT_BAD_CONFIG)
    runs: list[tuple[str, list[Path]]] = [(", ".join(p.name for p in config), config)]
    if compare is not None:
        runs.append((compare.name, [compare]))
    summaries: list[ReplaySummary] = []
    results: list[tuple[ReplayResult, SensorRegistry]] = []
    try:
        for label, paths in runs:
            result, registry = _replay(file, paths, label, speed, batch_seconds)
            results.append((result, registry))
            summaries.append(summarise(label, result, registry))
    except ReplayFileError as exc:
        err_console.print(f"[bold red]cannot replay[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    except ImportError as exc:
        err_console.print(f"[bold red]detector stack unavailable[/]: {exc}")
        raise typer.Exit(EXIT_RUNTIME) from None
    _print(summaries)
    first, registry = results[0]
    if events_out is not None:
        written = write_events(events_out, first.events, registry)
        console.print(f"{written} alarm events written to {events_out}")
    if report is not None:
        write_report(report, str(file), summaries, first.events, registry, lambda _slots: _filtered(file, registry))
        console.print(f"report written to {report}")


def _print(summaries: list[ReplaySummary]) -> None:
    from collector.evaluation.replay.summary import kpi_rows, only_in, rule_rows

    first = summaries[0]
    console.print(
        f"[bold]{first.readings:,}[/] readings, {first.data_s / 3600:.2f} h of data, replayed in "
        f"{first.wall_s:.1f} s: [bold]{first.readings_per_s:,.0f} readings/s[/]"
    )
    table = Table("", *(s.label for s in summaries), title="alarm KPIs (ISA-18.2)")
    for name, cells in kpi_rows(summaries):
        table.add_row(name, *cells)
    table.add_section()
    for name, counts in rule_rows(summaries):
        table.add_row(name, *map(str, counts))
    console.print(table)
    if len(summaries) == 2:
        for a, b in ((summaries[0], summaries[1]), (summaries[1], summaries[0])):
            gone = only_in(a, b)
            if gone:
                listed = ", ".join(f"{sensor} {rule}" for sensor, rule in gone[:15])
                console.print(f"only with [bold]{a.label}[/] ({len(gone)}): {listed}{' …' if len(gone) > 15 else ''}")
