"""The example configs the dashboard tests build from, and Grafana's macro expansion for raw InfluxQL."""

from __future__ import annotations

import re

EXAMPLE_CONFIGS = ("coal-mine.yaml", "chemical-plant.yaml")

TIME_FILTER = "time >= now() - 3h"
INTERVAL = "1m"


def expand(query: str, variables: dict[str, str]) -> str:
    """What Grafana sends for a raw InfluxQL query: its macros and template variables substituted."""
    expanded = (
        query.replace("$timeFilter", TIME_FILTER)
        .replace("$__timeFilter", TIME_FILTER)
        .replace("$__interval_ms", "60000")
        .replace("$__interval", INTERVAL)
    )
    for name, value in variables.items():
        expanded = re.sub(rf"\${name}\b", lambda _, v=value: v, expanded)
    assert not re.search(r"\$[A-Za-z_]", expanded), f"unexpanded macro in {expanded}"
    return expanded
