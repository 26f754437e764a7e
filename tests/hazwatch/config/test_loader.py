"""A bad config is refused before anything starts, with every problem's field path, value and reason."""

from pathlib import Path

import pytest
import yaml

from hazwatch.config import ConfigError, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.loader import parse_config


def _mine() -> dict:
    return yaml.safe_load((EXAMPLES / "coal-mine.yaml").read_text())


def _refuse(document: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    return caught.value


@pytest.mark.parametrize("name", ["coal-mine.yaml", "chemical-plant.yaml"])
def test_the_shipped_examples_are_valid(name: str) -> None:
    config = load_config(EXAMPLES / name)
    assert config.sites


def test_a_typo_in_a_register_type_names_the_field_path_and_the_bad_value() -> None:
    document = _mine()
    document["sites"][0]["devices"][2]["registers"][5]["type"] = "flaot32"
    problems = _refuse(document).problems
    assert [(p.path, p.value) for p in problems] == [("sites[0].devices[2].registers[5].type", "flaot32")]
    assert "float32" in problems[0].reason


def test_every_problem_is_reported_not_just_the_first() -> None:
    document = _mine()
    document["sites"][0]["devices"][0]["port"] = 70000
    document["sites"][0]["areas"][0]["sensors"][1]["kind"] = "methane"
    document["sites"][0]["areas"][1]["kind"] = "tunnel"
    paths = {p.path for p in _refuse(document).problems}
    assert paths == {
        "sites[0].devices[0].port",
        "sites[0].areas[0].sensors[1].kind",
        "sites[0].areas[1].kind",
    }


def test_an_unknown_field_is_an_error_rather_than_silently_ignored() -> None:
    document = _mine()
    document["sites"][0]["devices"][0]["poll_intervall"] = 5
    (problem,) = _refuse(document).problems
    assert problem.path == "sites[0].devices[0].poll_intervall"


def test_references_to_missing_or_doubly_read_sensors_are_refused() -> None:
    document = _mine()
    registers = document["sites"][0]["devices"][0]["registers"]
    registers[0]["sensor"] = "NO-SUCH-SENSOR"
    registers[2]["sensor"] = registers[1]["sensor"]
    problems = {p.path: p for p in _refuse(document).problems}
    assert problems["sites[0].devices[0].registers[0].sensor"].value == "NO-SUCH-SENSOR"
    assert "already read" in problems["sites[0].devices[0].registers[2].sensor"].reason


def test_overlapping_registers_are_refused() -> None:
    document = _mine()
    registers = document["sites"][0]["devices"][0]["registers"]
    registers[1]["address"] = registers[0]["address"] + 1  # a float32 at 0 covers words 0 and 1
    (problem,) = _refuse(document).problems
    assert problem.path == "sites[0].devices[0].registers[1].address"


def test_limits_whose_reset_is_on_the_alarm_side_are_refused() -> None:
    document = _mine()
    document["sites"][0]["areas"][0]["sensors"][0]["limits"] = {
        "high": [{"level": 1, "name": "alarm", "value": 1.0, "reset": 1.2}]
    }
    (problem,) = _refuse(document).problems
    assert problem.path == "sites[0].areas[0].sensors[0].limits"
    assert "reset" in problem.reason


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites:\n  - id: x\n   name: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert caught.value.problems[0].path.startswith("line ")
