"""`hazwatch check`: a newcomer's first command tells them exactly what is wrong with their config."""

import subprocess
import sys
from pathlib import Path

from hazwatch.config.examples import EXAMPLES


def _hazwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "collector", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_valid_config_is_summarised_with_sensors_per_kind() -> None:
    result = _hazwatch("check", str(EXAMPLES / "coal-mine.yaml"), str(EXAMPLES / "chemical-plant.yaml"))
    assert result.returncode == 0, result.stderr
    assert "xinyuan-mine" in result.stdout and "hengda-chem" in result.stdout
    assert "CH4" in result.stdout and "81 sensors" in result.stdout


def test_a_typo_exits_2_naming_the_field_path_and_the_bad_value(tmp_path: Path) -> None:
    text = (EXAMPLES / "coal-mine.yaml").read_text()
    bad = tmp_path / "typo.yaml"
    bad.write_text(text.replace("type: float32", "type: flaot32", 1))
    result = _hazwatch("check", str(bad))
    assert result.returncode == 2
    assert "sites[0].devices[0].registers[0].type" in result.stderr
    assert "flaot32" in result.stderr


def test_run_refuses_a_bad_config_before_starting_anything(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: []\n")
    result = _hazwatch("run", str(bad), "--influx-url", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "sites" in result.stderr


def test_invalid_utf8_exits_2_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes((EXAMPLES / "coal-mine.yaml").read_bytes().replace(b"name:", b"name: Sch\xf6n", 1))
    result = _hazwatch("check", str(bad))
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr and "Traceback" not in result.stderr


def test_an_alias_bomb_exits_2_within_seconds(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol"]'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join([*lines, "sites: *a9"]) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "collector", "check", str(bomb)], capture_output=True, text=True, timeout=20, check=False
    )
    assert result.returncode == 2
    assert "alias bomb" in result.stderr
