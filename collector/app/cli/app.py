"""The typer application every sub-command module registers on, and shared CLI helpers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from collector.telemetry.logs import configure_logging

if TYPE_CHECKING:
    from hazwatch.config import HazwatchConfig

app = typer.Typer(
    name="hazwatch",
    help="Watch gas, temperature and pressure sensors in mines and chemical plants, and raise the alarm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_BAD_CONFIG = 2


def load_or_exit(paths: list[Path]) -> HazwatchConfig:
    """Load config files or print every problem and exit 2, before anything has started.

    The config model (pydantic, numpy) is imported here, not with the CLI: `hazwatch --help` stays fast."""
    from detectors.rules.catalog import settings_problems
    from hazwatch.config import ConfigError, load_configs

    try:
        config = load_configs(paths)
        problems = settings_problems(config)
        if problems:
            raise ConfigError(", ".join(map(str, paths)), problems)
        return config
    except ConfigError as exc:
        err_console.print(f"[bold red]config refused[/]: {exc.source}")
        for problem in exc.problems:
            err_console.print(f"  [bold]{problem.path}[/]: {problem.reason} (got {problem.value!r})", highlight=False)
        raise typer.Exit(EXIT_BAD_CONFIG) from None


@app.callback()
def _root(
    log_level: Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    configure_logging(log_level.upper())
