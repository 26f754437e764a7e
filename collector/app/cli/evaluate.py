"""`hazwatch evaluate`: how good are the detectors — on our labelled scenarios and on real labelled data
(SKAB, NAB).

Each part is a function returning a plain dict (what `--json` prints under its key) and a
printer for the terminal; the command runs the parts asked for and combines them into
`{"scenarios": [...], "skab": {...}, "nab": {...}}`. A benchmark whose data folder is absent is
skipped with a line saying where it was looked for (and `{"skipped": reason}` under its key).
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
    data_dir: Path | None = None,
    predictions_out: Path | None = None,
    detector: str = "hazwatch",
    false_alarm_rate: float | None = None,
) -> dict[str, object]:
    """Run the SKAB benchmark with its own protocol; optionally write per-row predictions for re-scoring."""
    from collector.evaluation import skab

    result = skab.run(detector, data_dir, false_alarm_rate)
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


def print_nab(summary: dict[str, object]) -> None:
    from collector.evaluation import nab

    table = Table(
        "detector",
        "standard",
        "low FP",
        "low FN",
        title=f"NAB: {summary['files']} series, one config for all, scored by NAB's rule",
        caption="rows below ours: the published scoreboard (results/final_results.json)",
    )
    table.add_row(
        "[bold]hazwatch (ours)[/]",
        f"[bold]{summary['standard']:.1f}[/]",
        f"{summary['low_fp']:.1f}",
        f"{summary['low_fn']:.1f}",
    )
    table.add_section()
    for name, standard, low_fp, low_fn in nab.LEADERBOARD:
        table.add_row(name, f"{standard:.1f}", f"{low_fp:.1f}", f"{low_fn:.1f}")
    console.print(table)
    rules = ", ".join(f"{rule} {n}" for rule, n in summary["raises_by_rule"].items()) or "none"
    console.print(
        f"windows detected {summary['windows_detected']}/{summary['windows']}, alarms {summary['detections']} "
        f"({summary['detections_outside_windows']} outside every window); raises by rule: {rules}; "
        f"{summary['readings']:,} readings in {summary['wall_s']:.1f} s"
    )


def evaluate_budget(report: dict[str, object], data_dir: Path | None) -> dict[str, object]:
    """Alarms per sensor-day the budgeted rules spend on normal data, beside the configured budget."""
    from collector.evaluation import budget, skab

    spent: dict[str, object] = {"budget_per_sensor_day": budget.budget_per_day()}
    by_area: dict[str, dict[str, float]] = {}
    if "scenarios" in report:
        spent["scenarios_normal"] = budget.scenario_totals(report["scenarios"])
        by_area |= budget.area_totals(result.get("budget_by_area", {}) for result in report["scenarios"])
    try:
        normal = budget.skab_normal(data_dir)
        spent["skab_anomaly_free"] = normal["spend"]
        by_area |= normal["by_area"]
    except skab.SkabDataMissing as exc:
        spent["skab_anomaly_free"] = {"skipped": str(exc)}
    spent["by_area"] = by_area
    spent["areas_over_budget"] = budget.over_budget(by_area, spent["budget_per_sensor_day"])
    spent["within_budget"] = not spent["areas_over_budget"] and all(
        figures["all"]["per_sensor_day"] <= spent["budget_per_sensor_day"]
        for key in ("scenarios_normal", "skab_anomaly_free")
        if isinstance(figures := spent.get(key), dict) and "all" in figures
    )
    return spent


def print_budget(spent: dict[str, object]) -> None:
    table = Table(
        "normal data", "rule", "alarms", "sensor-days", "per sensor-day",
        title=f"alarm budget: {spent['budget_per_sensor_day']:g} false alarms per sensor-day (trend and learned rules)",
    )
    for key, name in (("scenarios_normal", "scenario suite, sensors with no reason to alarm"),
                      ("skab_anomaly_free", "SKAB anomaly-free run, 8 generic sensors")):
        figures = spent.get(key)
        if not isinstance(figures, dict) or "skipped" in figures:
            continue
        for rule, row in figures.items():
            table.add_row(name, rule, str(row["alarms"]), f"{row['sensor_days']:.2f}", f"{row['per_sensor_day']:.3f}")
    console.print(table)
    areas = Table("area", "alarms", "sensor-days", "per sensor-day", title="alarm budget per area")
    over = set(spent.get("areas_over_budget", []))
    for area, row in spent.get("by_area", {}).items():
        figures = (str(row["alarms"]), f"{row['sensor_days']:.2f}", f"{row['per_sensor_day']:.3f}")
        areas.add_row(area, *figures, style="bold red" if area in over else "")
    console.print(areas)
    named = f": {', '.join(spent['areas_over_budget'])}" if over else ""
    console.print("within budget" if spent["within_budget"] else f"[bold red]over budget[/]{named}")


@app.command()
def evaluate(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")] = False,
    predictions_out: Annotated[
        Path | None,
        typer.Option("--predictions-out", help="write per-row SKAB alarms (one CSV per experiment) here"),
    ] = None,
    skab_only: Annotated[bool, typer.Option("--skab-only", help="run only the SKAB benchmark")] = False,
    with_nab: Annotated[bool, typer.Option("--nab/--no-nab", help="score hazwatch on NAB's 58 series")] = True,
    with_scenarios: Annotated[bool, typer.Option("--scenarios/--no-scenarios", help="run the scenario suite")] = True,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            envvar="HAZWATCH_DATA_DIR",
            help="folder holding skab/ and nab/ (default: the nearest shared/data beside the project)",
        ),
    ] = None,
    skab_detector: Annotated[
        str,
        typer.Option("--skab-detector", help="detector to run on SKAB: hazwatch or a baseline (docs/evaluation.md)"),
    ] = "hazwatch",
    skab_false_alarm_rate: Annotated[
        float | None,
        typer.Option(
            "--skab-false-alarm-rate",
            min=1e-300,
            max=0.5,
            help="run SKAB with the unit model's limits set for this share of normal rows (docs/detectors.md)",
        ),
    ] = None,
) -> None:
    """Evaluate the detectors: the scenario suite, SKAB (F1, FAR, MAR, changepoint score) and NAB (standard,
    low-FP, low-FN), each beside its published leaderboard."""
    from collector.evaluation import nab, skab
    from collector.evaluation.scenarios.runner import evaluate_scenarios

    if skab_detector not in skab.DETECTORS:
        raise typer.BadParameter(f"choose one of {', '.join(skab.DETECTORS)}", param_hint="--skab-detector")
    report: dict[str, object] = {}
    if with_scenarios and not skab_only:
        report["scenarios"] = evaluate_scenarios()
    try:
        report["skab"] = evaluate_skab(data_dir, predictions_out, skab_detector, skab_false_alarm_rate)
    except skab.SkabDataMissing as exc:
        if skab_only:
            err_console.print(f"[bold red]SKAB data missing[/]: {exc}")
            raise typer.Exit(EXIT_RUNTIME) from None
        err_console.print(f"[yellow]SKAB skipped[/]: {exc}")
        report["skab"] = {"skipped": str(exc)}
    if with_nab and not skab_only:
        try:
            report["nab"] = nab.evaluate(data_dir)
        except nab.NabDataMissing as exc:
            err_console.print(f"[yellow]NAB skipped[/]: {exc}")
            report["nab"] = {"skipped": str(exc)}
    if not skab_only:
        report["budget"] = evaluate_budget(report, data_dir)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        if "scenarios" in report:
            print_scenarios(report["scenarios"])
        if "skipped" not in report["skab"]:
            print_skab(report["skab"])
        if "nab" in report and "skipped" not in report["nab"]:
            print_nab(report["nab"])
        if "budget" in report:
            print_budget(report["budget"])
    if not all(result["passed"] for result in report.get("scenarios", [])):
        raise typer.Exit(EXIT_RUNTIME)
