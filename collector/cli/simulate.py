"""`hazwatch simulate mine|plant`: serve a simulated site over the real protocols."""

from __future__ import annotations

import typer

from collector.cli.app import app

simulate_app = typer.Typer(help="Serve a simulated mine (Modbus) or plant (MQTT) built from a site config.")
app.add_typer(simulate_app, name="simulate")
