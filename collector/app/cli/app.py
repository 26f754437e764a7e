"""The typer application every sub-command module registers on, and shared CLI helpers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from collector.telemetry.logs import configure_logging

if TYPE_CHECKING:
    from collector.storage.influx_auth import InfluxCredentials
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

EXIT_RUNTIME = 1
EXIT_BAD_CONFIG = 2

InfluxCaFile = Annotated[
    Path | None,
    typer.Option(
        "--influx-ca-file", envvar="HAZWATCH_INFLUX_CA_FILE", help="CA that signed an https:// InfluxDB's certificate"
    ),
]


def influx_credentials(ca_file: Path | None) -> InfluxCredentials:
    """User and password or token from HAZWATCH_INFLUX_USER/_PASSWORD/_TOKEN, as `hazwatch run` reads them."""
    from collector.storage.influx_auth import InfluxCredentials
    from hazwatch.config.schema import InfluxSettings

    return InfluxCredentials.from_settings(InfluxSettings(ca_file=str(ca_file) if ca_file else None))


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


def refuse_weak_secrets(config: HazwatchConfig, api_token: bool = True) -> None:
    """Print every weak or unreadable secret with its field and exit 2, before anything has started."""
    from collector.app.secret_checks import secret_problems

    problems = secret_problems(config, api_token)
    if problems:
        err_console.print("[bold red]secrets refused[/]")
        for problem in problems:
            err_console.print(f"  [bold]{problem.field}[/]: {problem.reason}", highlight=False)
        raise typer.Exit(EXIT_BAD_CONFIG)


@app.callback()
def _root(
    log_level: Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    configure_logging(log_level.upper())
