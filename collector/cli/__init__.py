"""The `hazwatch` command line. Each sub-command lives in its own module and registers on `app`."""

from collector.cli import alarms, check, dashboards, evaluate, replay, report, scenario_cli, simulate, simulate_mine, simulate_plant, status  # noqa: F401  (each registers its commands)
from collector.cli.app import app


def main() -> None:
    app()
