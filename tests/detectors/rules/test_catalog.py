"""The rule catalog: the stack is every declared rule, in an order the rules themselves justify."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import detectors.rules
from detectors.engine.declaration import Phase, RuleDeclaration
from detectors.rules import catalog
from detectors.rules.exposure import ExposureDetector
from detectors.rules.health import HealthDetector
from detectors.rules.threshold import ThresholdDetector
from detectors.rules.trend import TrendDetector
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.loader import parse_config

DOCS = Path(__file__).resolve().parents[3] / "docs" / "detectors.md"


def _declared(name: str, phase: Phase, after: tuple[str, ...] = ()) -> RuleDeclaration:
    return RuleDeclaration(name=name, phase=phase, build=lambda setup: HealthDetector, after=after)


def test_health_runs_first_so_its_suppression_holds_off_process_alarms_at_the_same_reading() -> None:
    names = [rule.name for rule in catalog.declarations()]
    assert names[0] == "health"
    phases = [rule.phase for rule in catalog.declarations()]
    assert phases == sorted(phases)


def test_a_rule_declared_after_another_comes_after_it_whatever_the_names() -> None:
    found = {
        "zz": _declared("zz", Phase.SENSOR),
        "aa": _declared("aa", Phase.SENSOR, after=("zz",)),
        "hh": _declared("hh", Phase.HEALTH),
    }
    assert [rule.name for rule in catalog._ordered(found)] == ["hh", "zz", "aa"]


def test_rules_waiting_on_each_other_or_on_no_rule_are_refused() -> None:
    loop = {"a": _declared("a", Phase.SENSOR, after=("b",)), "b": _declared("b", Phase.SENSOR, after=("a",))}
    with pytest.raises(ValueError, match="wait on each other"):
        catalog._ordered(loop)
    with pytest.raises(ValueError, match="no rule of its phase"):
        catalog._ordered({"a": _declared("a", Phase.SENSOR, after=("missing",))})
    with pytest.raises(ValueError, match="no rule of its phase"):
        catalog._ordered({"a": _declared("a", Phase.SENSOR, after=("h",)), "h": _declared("h", Phase.HEALTH)})


def test_the_stack_holds_one_rule_per_declaring_module_built_from_the_site_config() -> None:
    config = load_config(EXAMPLES / "coal-mine.yaml")
    rules = catalog.build_rules(SensorRegistry.from_config(config), config)
    assert len(rules) == len(catalog.declarations())
    kinds = [type(rule) for rule in rules]
    assert kinds[0] is HealthDetector
    assert kinds.index(ThresholdDetector) < kinds.index(ExposureDetector)
    assert kinds.index(ThresholdDetector) < kinds.index(TrendDetector)


def test_every_parameter_names_its_unit_and_the_source_of_its_default() -> None:
    for rule in catalog.declarations():
        assert rule.parameters, rule.name
        for parameter in rule.parameters:
            assert parameter.default and parameter.unit and parameter.source, (rule.name, parameter.name)


def test_every_rule_module_has_its_entry_in_docs_detectors_md() -> None:
    documented = set(re.findall(r"^###.*`detectors/rules/(\w+)\.py`", DOCS.read_text(), flags=re.MULTILINE))
    modules = {
        m.name
        for m in pkgutil.iter_modules(detectors.rules.__path__)
        if isinstance(getattr(importlib.import_module(f"detectors.rules.{m.name}"), "RULE", None), RuleDeclaration)
    }
    assert modules <= documented, modules - documented


def test_a_settings_block_for_no_rule_is_refused_with_its_field_path() -> None:
    document = yaml.safe_load((EXAMPLES / "coal-mine.yaml").read_text())
    document["sites"][0]["areas"][0]["sensors"][1]["detect"] = {"rules": {"no_such_rule": {"after_s": 1}}}
    problems = catalog.settings_problems(parse_config(document))
    assert [p.path for p in problems] == ["sites[0].areas[0].sensors[1].detect.rules.no_such_rule"]
    assert "no rule with settings" in problems[0].reason


def test_hazwatch_check_exits_2_on_a_rule_setting_no_rule_declares(tmp_path: Path) -> None:
    document = yaml.safe_load((EXAMPLES / "coal-mine.yaml").read_text())
    document["sites"][0]["areas"][0]["sensors"][1]["detect"] = {"rules": {"no_such_rule": {}}}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [sys.executable, "-m", "collector", "check", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "sites[0].areas[0].sensors[1].detect.rules.no_such_rule" in result.stderr
