"""`hazwatch simulate mine|plant`: serve a simulated site over the real protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.app.cli.app import app

simulate_app = typer.Typer(help="Serve a simulated mine (Modbus) or plant (MQTT) built from a site config.")
app.add_typer(simulate_app, name="simulate")


ScenarioOption = Annotated[
    Path | None, typer.Option(help="serve this scenario (a file or a library name, e.g. outburst) instead")
]
ExportOption = Annotated[
    Path | None, typer.Option(help="write the --scenario's readings to this .csv/.parquet/.lp instead of serving")
]
