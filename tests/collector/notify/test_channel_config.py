"""Channel settings in the site config: a subscriber that could announce a false all-clear is refused before start."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from collector.app.cli.app import app
from hazwatch.config import ConfigError, load_config
from hazwatch.config.examples import EXAMPLES


def with_webhooks(tmp_path: Path, webhooks: dict) -> Path:
    document = yaml.safe_load((EXAMPLES / "chemical-plant.yaml").read_text())
    document["webhooks"] = webhooks
    document["state_dir"] = str(tmp_path / "state")
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def problems(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return "\n".join(str(p) for p in caught.value.problems)


def test_an_alertmanager_subscriber_filtering_on_transitions_is_refused_with_the_field_path(tmp_path):
    path = with_webhooks(
        tmp_path,
        {"subscribers": [{"name": "am", "url": "http://am:9093/api/v2/alerts", "format": "alertmanager",
                          "filter": {"transitions": ["raise"]}}]},
    )  # fmt: skip
    found = problems(path)
    assert "webhooks.subscribers" in found and "cannot filter on transitions or states" in found


def test_basic_auth_without_a_password_and_two_kinds_of_auth_are_refused(tmp_path):
    no_password = with_webhooks(
        tmp_path,
        {"subscribers": [{"name": "am", "url": "http://am:9093/api/v2/alerts", "format": "alertmanager",
                          "alertmanager": {"username": "hazwatch"}}]},
    )  # fmt: skip
    assert "basic auth needs password_env or password_file" in problems(no_password)
    both = with_webhooks(
        tmp_path,
        {"subscribers": [{"name": "am", "url": "http://am:9093/api/v2/alerts", "format": "alertmanager",
                          "alertmanager": {"username": "u", "password_env": "P", "bearer_token_env": "T"}}]},
    )  # fmt: skip
    assert "not both" in problems(both)


def test_the_documented_robot_and_response_settings_load(tmp_path):
    path = with_webhooks(
        tmp_path,
        {
            "subscribers": [
                {"name": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", "format": "wecom"},
                {"name": "ding", "url": "https://oapi.dingtalk.com/robot/send?access_token=T", "format": "dingtalk",
                 "robot": {"secret_env": "HAZWATCH_DINGTALK_SECRET"}},
                {"name": "lark", "url": "https://open.feishu.cn/open-apis/bot/v2/hook/H", "format": "feishu",
                 "robot": {"secret_env": "HAZWATCH_FEISHU_SECRET"}},
            ],
            "responses": {"public_url": "https://hazwatch.plant.example", "valid_minutes": 60},
        },
    )  # fmt: skip
    config = load_config(path)
    assert [s.format for s in config.webhooks.subscribers] == ["wecom", "dingtalk", "feishu"]
    assert config.webhooks.responses.public_url == "https://hazwatch.plant.example"


def test_hazwatch_run_refuses_response_links_without_a_secret_before_anything_starts(tmp_path, monkeypatch):
    monkeypatch.delenv("HAZWATCH_RESPONSE_SECRET", raising=False)
    monkeypatch.setenv("HAZWATCH_WEBHOOK_SECRET", "a-webhook-secret-long-enough")
    path = with_webhooks(tmp_path, {"responses": {"public_url": "https://hazwatch.plant.example"}})
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2, result.output
    assert "HAZWATCH_RESPONSE_SECRET" in result.output
