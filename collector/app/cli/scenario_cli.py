"""`hazwatch simulate export` writes a scenario's readings to a file; `hazwatch scenario list|run` checks them."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from collector.app.cli.app import EXIT_BAD_CONFIG, EXIT_RUNTIME, app, console, err_console, load_or_exit
from collector.app.cli.simulate import simulate_app

scenario_app = typer.Typer(help="Labelled incident scenarios: list them, run them through the detectors.")
app.add_typer(scenario_app, name="scenario")


class SiteKind(StrEnum):
    mine = "mine"
    plant = "plant"


@simulate_app.command("export")
def export(
    kind: Annotated[SiteKind, typer.Argument(help="mine or plant")],
    config: Annotated[Path, typer.Argument(help="site config (YAML)")],
    scenario: Annotated[str | None, typer.Option(help="scenario file, or the name of one in the library")],
    out: Annotated[Path, typer.Option(help=".csv (long: time,site,sensor,value,quality), .parquet or .lp")],
    wide: Annotated[bool, typer.Option(help="CSV with one column per sensor instead of the long layout")] = False,
) -> None:
    """Render a scenario on a site config and write its readings instead of serving them."""
    from hazwatch.recordings import ReplayFileError
    from simulators.export import write_rendering
    from simulators.scenarios.loader import ScenarioError, load_scenario, render_scenario

    if scenario is None:
        err_console.print("[bold red]--export[/] needs --scenario")
        raise typer.Exit(EXIT_BAD_CONFIG)
    loaded = load_or_exit([config])
    try:
        parsed = load_scenario(scenario)
        if parsed.site != kind.value:
            err_console.print(f"[bold red]scenario {parsed.name}[/] is for a {parsed.site}, not a {kind.value}")
            raise typer.Exit(EXIT_BAD_CONFIG)
        rendering = render_scenario(loaded, parsed)
        rows = write_rendering(rendering, out, wide=wide)
    except (ScenarioError, ReplayFileError, ValueError) as exc:
        err_console.print(f"[bold red]cannot export[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    console.print(
        f"{rows:,} readings of {len(rendering.sensors)} sensors over {parsed.duration_s:g} s "
        f"({parsed.name}, seed {parsed.seed}) written to {out}"
    )


@scenario_app.command("list")
def list_scenarios() -> None:
    """The scenario library with what each one checks."""
    from simulators.scenarios.loader import library_paths, load_scenario

    table = Table("name", "site", "duration", "events", "expected alarms", "title")
    for path in library_paths():
        s = load_scenario(path)
        table.add_row(s.name, s.site, f"{s.duration_s / 60:.0f} min", str(len(s.events)), str(len(s.expect)), s.title)
    console.print(table)


@scenario_app.command("run")
def run(
    names: Annotated[list[str] | None, typer.Argument(help="scenario files or library names (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
) -> None:
    """Run scenarios through the detector stack twice (determinism) and check their ground truth."""
    from collector.evaluation.scenarios.runner import evaluate_scenarios
    from simulators.scenarios.loader import ScenarioError

    try:
        results = evaluate_scenarios([_library_path(Path(n)) for n in names] if names else None)
    except ScenarioError as exc:
        err_console.print(f"[bold red]bad scenario[/]: {exc}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        print_scenarios(results)
    if not all(r["passed"] for r in results):
        raise typer.Exit(EXIT_RUNTIME)


def _library_path(path: Path) -> Path:
    from simulators.scenarios.loader import ScenarioError, library_paths

    if path.exists():
        return path
    candidate = next((p for p in library_paths() if p.stem == path.name), None)
    if candidate is None:
        raise ScenarioError(f"{path}: no such file or library scenario")
    return candidate


def print_scenarios(results: list[dict]) -> None:
    table = Table("scenario", "result", "expected alarms (delay s)", "missed", "false alarms", "over-limits")
    for r in results:
        delays = ", ".join(
            f"{e['sensor']} {e['rule']}/{e['level']}: {'-' if e['delay_s'] is None else e['delay_s']}"
            for e in r["expected"]
        )
        missed = "; ".join(f"{m['sensor']} {m['rule']}/{m['level']}: {m['why']}" for m in r["missed"][:4])
        false = "; ".join(f"{f['sensor']} {f['rule']} @{f['at_s']}s" for f in r["false_alarms"][:4])
        reg = r["regulatory"]
        table.add_row(
            r["name"],
            "[green]pass[/]" if r["passed"] else "[red]FAIL[/]",
            delays,
            missed or "-",
            false or "-",
            f"{reg['detected']}/{reg['episodes']} ≤{reg['max_delay_s']:.1f}s",
        )
    console.print(table)
