"""`hazwatch evaluate`: how good are the detectors — on our labelled scenarios and on real labelled data (SKAB).

Each part is a function returning a plain dict (what `--json` prints under its key) and a
printer for the terminal; the command runs the parts asked for and combines them into
`{"scenarios": [...], "skab": {...}}`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from collector.app.cli.app import EXIT_RUNTIME, app, console, err_console
from collector.app.cli.scenario_cli import print_scenarios


def evaluate_skab(
    data_dir: Path | None = None, predictions_out: Path | None = None, detector: str = "hazwatch"
) -> dict[str, object]:
    """Run the SKAB benchmark with its own protocol; optionally write per-row predictions for re-scoring."""
    from collector.evaluation import skab

    result = skab.run(detector, data_dir)
    summary = result.summary()
    summary["data_dir"] = str(skab.skab_dir(data_dir))
    if predictions_out is not None:
        written = skab.write_predictions(result, predictions_out)
        summary["predictions_out"] = str(predictions_out)
        summary["prediction_files"] = len(written)
    return summary


def print_skab(summary: dict[str, object]) -> None:
    from collector.evaluation import skab

    table = Table(
        "detector",
        "F1",
        "FAR %",
        "MAR %",
        "CP std",
        "CP lowFP",
        "CP lowFN",
        title="SKAB: 34 experiments, first 400 rows of each fit, the rest scored",
        caption="CP = changepoint (NAB) score; rows below ours are the benchmark's published leaderboard",
    )
    table.add_row(
        f"[bold]{summary['detector']} (ours)[/]",
        f"[bold]{summary['f1']:.3f}[/]",
        f"[bold]{summary['far']:.2f}[/]",
        f"[bold]{summary['mar']:.2f}[/]",
        f"[bold]{summary['changepoint_standard']:.2f}[/]",
        f"{summary['changepoint_low_fp']:.2f}",
        f"{summary['changepoint_low_fn']:.2f}",
    )
    table.add_section()
    for name, f1, far, mar, changepoint in skab.LEADERBOARD:
        table.add_row(name, f"{f1:.2f}", f"{far:.2f}", f"{mar:.2f}", f"{changepoint:.2f}", "", "")
    console.print(table)
    console.print(
        f"changepoint windows detected: {summary['changepoint_windows_detected']}/{summary['changepoint_windows']}, "
        f"predictions outside any window: {summary['changepoint_false_positives']}; "
        f"rows TP {summary['tp']} FP {summary['fp']} TN {summary['tn']} FN {summary['fn']}"
    )
    if "predictions_out" in summary:
        console.print(f"per-row predictions: {summary['prediction_files']} files in {summary['predictions_out']}")


@app.command()
def evaluate(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")] = False,
    predictions_out: Annotated[
        Path | None,
        typer.Option("--predictions-out", help="write per-row SKAB alarms (one CSV per experiment) here"),
    ] = None,
    skab_only: Annotated[bool, typer.Option("--skab-only", help="run only the SKAB benchmark")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="HAZWATCH_DATA_DIR",
            help="folder holding skab/ (default: ../shared/data beside the project)",
        ),
    ] = None,
    skab_detector: Annotated[
        str,
        typer.Option("--skab-detector", help="detector to run on SKAB: hazwatch or a baseline (docs/evaluation.md)"),
    ] = "hazwatch",
) -> None:
    """Evaluate the detectors: the scenario suite, then SKAB (F1, FAR, MAR, changepoint score) vs its leaderboard."""
    from collector.evaluation import skab
    from collector.evaluation.scenarios.runner import evaluate_scenarios

    if skab_detector not in skab.DETECTORS:
        raise typer.BadParameter(f"choose one of {', '.join(skab.DETECTORS)}", param_hint="--skab-detector")
    report: dict[str, object] = {}
    if not skab_only:
        report["scenarios"] = evaluate_scenarios()
    try:
        report["skab"] = evaluate_skab(data_dir, predictions_out, skab_detector)
    except skab.SkabDataMissing as exc:
        err_console.print(f"[bold red]SKAB data missing[/]: {exc}")
        raise typer.Exit(EXIT_RUNTIME) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        if "scenarios" in report:
            print_scenarios(report["scenarios"])
        print_skab(report["skab"])
    if not all(result["passed"] for result in report.get("scenarios", [])):
        raise typer.Exit(EXIT_RUNTIME)
