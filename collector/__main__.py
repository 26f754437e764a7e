"""`python -m collector` is the `hazwatch` command, for environments where the script is not on PATH."""

from collector.app.cli import main

main()
