"""Weak secrets are refused before anything starts, naming the field (exit 2); secrets and URLs are redacted;
a secret file every user can read is warned about."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hazwatch.config.examples import PLANT_EXAMPLE
from hazwatch.credentials import MASK, MIN_SECRET_LENGTH, read_secret, redact

HAZWATCH = [sys.executable, "-m", "collector"]
GOOD = "a-random-enough-secret-0123456789"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HAZWATCH_")}
    env = {**clean, "COLUMNS": "300", **env}
    return subprocess.run([*HAZWATCH, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"HAZWATCH_WEBHOOK_SECRET": "change-me"}, "webhooks.secret ($HAZWATCH_WEBHOOK_SECRET)", "change-me"),
        ({"HAZWATCH_WEBHOOK_SECRET": "short-secret"}, "webhooks.secret ($HAZWATCH_WEBHOOK_SECRET)", "short-secret"),
        ({"HAZWATCH_WEBHOOK_SECRET": GOOD, "HAZWATCH_API_TOKEN": "x"}, "$HAZWATCH_API_TOKEN", None),
    ],
)
def test_check_refuses_a_placeholder_or_short_secret_naming_the_field(env, field, value) -> None:
    result = run_cli("check", str(PLANT_EXAMPLE), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert field in result.stderr
    if value == "short-secret":
        assert f"at least {MIN_SECRET_LENGTH}" in result.stderr
        assert value not in result.stderr, "a real (if weak) secret is never echoed"


def test_check_accepts_strong_secrets_and_unset_ones() -> None:
    assert run_cli("check", str(PLANT_EXAMPLE), env={"HAZWATCH_WEBHOOK_SECRET": GOOD}).returncode == 0
    assert run_cli("check", str(PLANT_EXAMPLE), env={}).returncode == 0


def test_run_refuses_a_weak_per_subscriber_secret_before_starting(tmp_path: Path) -> None:
    weak = tmp_path / "bureau-secret"
    weak.write_text("change-me\n")
    weak.chmod(0o600)
    config = yaml.safe_load(PLANT_EXAMPLE.read_text())
    config["webhooks"]["subscribers"][1]["secret_file"] = str(weak)
    path = tmp_path / "plant.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_cli("run", str(path), "--state-dir", str(tmp_path / "state"), env={"HAZWATCH_WEBHOOK_SECRET": GOOD})
    assert result.returncode == 2
    assert f"webhooks.subscribers[1] (emergency-management-bureau) secret ({weak})" in result.stderr
    assert "placeholder" in result.stderr
    assert not (tmp_path / "state").exists(), "refused before anything started"


def test_a_secret_file_every_user_can_read_is_used_but_warned_about(tmp_path: Path, caplog) -> None:
    secret = tmp_path / "secret"
    secret.write_text(GOOD + "\n")
    secret.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="hazwatch.credentials"):
        assert read_secret(None, secret) == GOOD
    assert "readable by every user" in caplog.text and str(secret) in caplog.text
    caplog.clear()
    secret.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="hazwatch.credentials"):
        assert read_secret(None, secret) == GOOD
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("InfluxDB https://admin:pa%40ss@db:8086 db=x", "pa%40ss"),
        ("broker mqtts://ops:hunter22@10.0.0.5:8883 refused", "hunter22"),
        ("GET /query?db=h&u=admin&p=topsecret1&q=SHOW", "topsecret1"),
        ("https://oapi.dingtalk.com/robot/send?access_token=abc123def456", "abc123def456"),
        ("headers {'Authorization': 'Token sk-0123456789abcdef'}", "sk-0123456789abcdef"),
    ],
)
def test_redact_blanks_passwords_in_urls_query_parameters_and_auth_headers(text: str, hidden: str) -> None:
    redacted = redact(text)
    assert hidden not in redacted and MASK in redacted


def test_redact_blanks_every_secret_read_even_where_no_pattern_would_find_it(monkeypatch) -> None:
    monkeypatch.setenv("HAZWATCH_TEST_SECRET", "free-standing-secret-4411")
    read_secret("HAZWATCH_TEST_SECRET", None)
    assert redact("the server said: bad key free-standing-secret-4411!") == f"the server said: bad key {MASK}!"
    assert redact("mqtt://broker:1883 connected") == "mqtt://broker:1883 connected", "no secret, nothing changed"
