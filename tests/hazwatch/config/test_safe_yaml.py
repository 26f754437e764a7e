"""The config loader refuses, fast and with a reason, files that would exhaust the machine or are not text."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hazwatch.config import ConfigError, load_config, safe_yaml
from hazwatch.config.examples import EXAMPLES


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The classic "billion laughs": each level lists the previous one `width` times."""
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    lines.append(f"sites: *a{levels}")
    return "\n".join(lines) + "\n"


def refused(tmp_path: Path, content: str | bytes) -> ConfigError:
    path = tmp_path / "config.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert time.monotonic() - started < 5, "refused fast"
    return caught.value


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    error = refused(tmp_path, alias_bomb())
    assert "alias bomb" in error.problems[0].reason


def test_too_many_aliases_are_refused(tmp_path: Path) -> None:
    text = "x: &x 1\nsites: [" + ", ".join(["*x"] * (safe_yaml.MAX_ALIASES + 1)) + "]\n"
    assert "aliases" in refused(tmp_path, text).problems[0].reason


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    assert "recursive" in refused(tmp_path, "sites: &s [*s]\n").problems[0].reason


def test_nesting_deeper_than_the_limit_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    error = refused(tmp_path, "sites: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested more than" in error.problems[0].reason


def test_a_file_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    error = refused(tmp_path, "#" * (safe_yaml.MAX_BYTES + 10))
    assert "larger than" in error.problems[0].reason


def test_invalid_utf8_is_refused_with_where_it_is(tmp_path: Path) -> None:
    text = (EXAMPLES / "coal-mine.yaml").read_bytes().replace(b"name:", b"name: \xff\xfe", 1)
    problem = refused(tmp_path, text).problems[0]
    assert "not UTF-8" in problem.reason and "0xff" in problem.reason and "line " in problem.reason


def test_a_config_sharing_values_through_anchors_still_loads(tmp_path: Path) -> None:
    text = (EXAMPLES / "coal-mine.yaml").read_text()
    anchored = text.replace("poll_interval: 2.0", "poll_interval: &interval 2.0", 1).replace(
        "poll_interval: 2.0", "poll_interval: *interval"
    )
    assert anchored.count("*interval") == 5
    path = tmp_path / "anchored.yaml"
    path.write_text(anchored)
    assert load_config(path) == load_config(EXAMPLES / "coal-mine.yaml")


def test_the_expanded_size_is_counted_without_expanding() -> None:
    loader = safe_yaml._LimitedLoader(alias_bomb(levels=6, width=10))
    node = loader.get_single_node()
    assert safe_yaml.expanded_size(node) > 10**6
