"""The `hazwatch` command line. Each sub-command lives in its own module and registers on `app`."""

from collector.app.cli import (  # noqa: F401  (each module registers its commands)
    alarms,
    check,
    console,
    dashboards,
    demo,
    evaluate,
    replay,
    report,
    run,
    scenario_cli,
    simulate,
    simulate_mine,
    simulate_plant,
    status,
)
from collector.app.cli.app import app


def main() -> None:
    app()
