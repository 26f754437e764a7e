"""The `hazwatch` command line. Each sub-command lives in its own module and registers on `app`."""

from collector.cli import check, simulate  # noqa: F401  (each registers its commands)
from collector.cli.app import app


def main() -> None:
    app()
