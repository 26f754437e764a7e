"""Settings of the operators' alarm console (served beside the alarm API on `--api-port`)."""

from __future__ import annotations

from pydantic import Field

from hazwatch.config.limits import StrictModel


class ConsoleSettings(StrictModel):
    users_file: str | None = Field(
        default=None, description="YAML file of console users (name, role, scrypt password hash); serves the console"
    )
    grafana_url: str | None = Field(default=None, description="base URL of Grafana, for links to the dashboards")
    session_idle_minutes: float = Field(default=30.0, gt=0, description="a session ends after this long unused")
    session_max_hours: float = Field(default=12.5, gt=0, description="and at the latest this long after sign-in")
