"""The `hazwatch` command line. Each sub-command lives in its own module and registers on `app`."""

from collector.cli import check  # noqa: F401  (registers its command)
from collector.cli.app import app


def main() -> None:
    app()
