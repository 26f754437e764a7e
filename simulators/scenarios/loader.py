"""Find, read and validate scenario files; render them into readings."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from hazwatch.config import HazwatchConfig, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.loader import format_path, parse_config
from simulators.physics.layout import LayoutError, SiteLayout
from simulators.physics.site import Rendering, SimulatedSite
from simulators.scenarios.model import Scenario

LIBRARY = Path(__file__).parent / "library"


class ScenarioError(ValueError):
    """A scenario file that cannot be run: bad YAML, a bad field, or a name the site config lacks."""


def library_paths() -> list[Path]:
    return sorted(LIBRARY.glob("*.yaml"))


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    if not path.exists() and (LIBRARY / f"{path}.yaml").exists():
        path = LIBRARY / f"{path}.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Scenario.model_validate(document)
    except OSError as exc:
        raise ScenarioError(f"{path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{format_path(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ScenarioError(f"{path}: {problems}") from None


def scenario_config_path(scenario: Scenario, scenario_path: Path | None = None) -> Path:
    """A scenario's config path is relative to its own file first, then to the installed package (where the
    library's `examples/...` configs ship)."""
    candidates = [Path(scenario.config)]
    if scenario_path is not None:
        candidates.insert(0, scenario_path.parent / scenario.config)
    candidates.append(EXAMPLES.parent / scenario.config)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise ScenarioError(f"scenario {scenario.name}: config {scenario.config} not found")


def load_scenario_config(scenario: Scenario, scenario_path: Path | None = None) -> HazwatchConfig:
    return load_config(scenario_config_path(scenario, scenario_path))


def scenario_config(config: HazwatchConfig, scenario: Scenario) -> HazwatchConfig:
    """The config with the scenario's `detect` settings applied to its sensors (validated again)."""
    if not scenario.detect:
        return config
    document = config.model_dump(mode="json", exclude_unset=True)
    found = set()
    for site in document["sites"]:
        for area in site["areas"]:
            for sensor in area.get("sensors", []):
                settings = scenario.detect.get(sensor["id"])
                if settings is not None:
                    sensor["detect"] = settings.model_dump(mode="json", exclude_unset=True)
                    found.add(sensor["id"])
    missing = set(scenario.detect) - found
    if missing:
        raise ScenarioError(f"scenario {scenario.name}: detect names unknown sensors {sorted(missing)}")
    return parse_config(document, f"{scenario.config} + scenario {scenario.name}")


def simulated_site(config: HazwatchConfig, scenario: Scenario) -> SimulatedSite:
    """The scenario's site with its events, checked against the config (every sensor, area and device exists)."""
    wanted = "coal_mine" if scenario.site == "mine" else "chemical_plant"
    site = next((s.id for s in config.sites if s.type == wanted), None)
    if site is None:
        raise ScenarioError(f"scenario {scenario.name} needs a {wanted} site in the config")
    try:
        model = SimulatedSite(
            config, scenario.events, site=site, seed=scenario.seed, step_s=scenario.step_s, start=scenario.start_utc
        )
        layout: SiteLayout = model.layout
        for sensor in [e.sensor for e in scenario.expect] + scenario.must_not_alarm + scenario.may_alarm:
            layout.column(sensor)
    except LayoutError as exc:
        raise ScenarioError(f"scenario {scenario.name}: {exc}") from exc
    return model


def render_scenario(config: HazwatchConfig, scenario: Scenario) -> Rendering:
    try:
        return simulated_site(config, scenario).render(scenario.duration_s)
    except LayoutError as exc:
        raise ScenarioError(f"scenario {scenario.name}: {exc}") from exc


def scenario_model(config: HazwatchConfig, scenario: Scenario) -> SimulatedSite:
    """A SiteModel that serves the scenario (for the Modbus and MQTT servers)."""
    return simulated_site(config, scenario)
