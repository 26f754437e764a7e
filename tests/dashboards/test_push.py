"""`hazwatch dashboards push` creates, then updates in place, everything in Grafana through its HTTP API."""

from __future__ import annotations

import pytest
from grafana_api_server import GrafanaApiServer
from grafana_macros import EXAMPLE_CONFIGS
from typer.testing import CliRunner

from collector.app.cli import app
from dashboards.alerting import RULE_UID
from dashboards.build import FOLDER_UID
from dashboards.panels import DATASOURCE_UID
from hazwatch.config.examples import EXAMPLES

TOKEN = "glsa_test-token"
CONFIGS = [str(EXAMPLES / name) for name in EXAMPLE_CONFIGS]


def _push(url: str, token: str | None = TOKEN):
    env = {"GRAFANA_TOKEN": token} if token else {"GRAFANA_TOKEN": ""}
    return CliRunner().invoke(app, ["dashboards", "push", *CONFIGS, "--grafana-url", url], env=env)


@pytest.fixture
def grafana():
    with GrafanaApiServer(TOKEN) as server:
        yield server


def test_first_push_creates_folder_datasource_dashboards_and_deadman_rule(grafana, example_dashboards):
    result = _push(grafana.url)
    assert result.exit_code == 0, result.output
    calls = [(r.method, r.path) for r in grafana.state.requests]
    assert ("POST", "/api/folders") in calls and ("POST", "/api/datasources") in calls
    assert grafana.state.folders[FOLDER_UID]["title"] == "hazwatch"
    datasource = grafana.state.datasources[DATASOURCE_UID]
    assert (datasource["type"], datasource["access"], datasource["jsonData"]["dbName"]) == (
        "influxdb",
        "proxy",
        "hazwatch",
    )
    saves = [r.body for r in grafana.state.requests if r.path == "/api/dashboards/db"]
    assert all(r.method == "POST" for r in grafana.state.requests if r.path == "/api/dashboards/db")
    assert all(body["overwrite"] is True and body["folderUid"] == FOLDER_UID for body in saves)
    assert all(body["dashboard"]["id"] is None for body in saves)
    assert set(grafana.state.dashboards) == {d["uid"] for d in example_dashboards}
    rule = grafana.state.alert_rules[RULE_UID]
    assert rule["noDataState"] == "Alerting" and rule["data"][0]["datasourceUid"] == DATASOURCE_UID


def test_second_push_updates_the_same_objects_in_place(grafana, example_dashboards):
    assert _push(grafana.url).exit_code == 0
    first = len(grafana.state.requests)
    result = _push(grafana.url)
    assert result.exit_code == 0, result.output
    second = grafana.state.requests[first:]
    assert not [r for r in second if r.method == "POST" and r.path != "/api/dashboards/db"]
    assert ("PUT", f"/api/folders/{FOLDER_UID}") in [(r.method, r.path) for r in second]
    assert ("PUT", f"/api/datasources/uid/{DATASOURCE_UID}") in [(r.method, r.path) for r in second]
    assert ("PUT", f"/api/v1/provisioning/alert-rules/{RULE_UID}") in [(r.method, r.path) for r in second]
    assert len(grafana.state.folders) == 1 and len(grafana.state.datasources) == 1
    assert len(grafana.state.alert_rules) == 1
    assert {uid: d["version"] for uid, d in grafana.state.dashboards.items()} == {
        d["uid"]: 2 for d in example_dashboards
    }


def test_push_without_a_token_is_refused_before_any_request(grafana):
    result = _push(grafana.url, token=None)
    assert result.exit_code == 2
    assert "GRAFANA_TOKEN" in result.output
    assert grafana.state.requests == []


def test_push_with_a_wrong_token_fails_with_grafanas_reason(grafana):
    result = _push(grafana.url, token="wrong")
    assert result.exit_code == 1
    assert "Unauthorized" in result.output
    assert grafana.state.dashboards == {}
