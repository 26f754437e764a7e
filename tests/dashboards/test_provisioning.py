"""`hazwatch dashboards build` writes a Grafana provisioning tree; several configs merge into one folder."""

from __future__ import annotations

import json

import yaml
from grafana_macros import EXAMPLE_CONFIGS
from typer.testing import CliRunner

from collector.app.cli import app
from dashboards.alerting import RULE_UID
from dashboards.build import FOLDER_UID
from dashboards.panels import DATASOURCE_UID
from hazwatch.config.examples import EXAMPLES

MINE, PLANT = (str(EXAMPLES / name) for name in EXAMPLE_CONFIGS)


def _build(out, *configs: str, influx_url: str = "http://influxdb:8086"):
    result = CliRunner().invoke(app, ["dashboards", "build", *configs, "--out", str(out), "--influx-url", influx_url])
    assert result.exit_code == 0, result.output
    return result


def _tree(out) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_tree_has_datasource_provider_dashboards_and_deadman_rule(tmp_path, example_dashboards):
    _build(tmp_path, MINE, PLANT)
    datasources = yaml.safe_load((tmp_path / "datasources" / "hazwatch.yaml").read_text())
    (source,) = datasources["datasources"]
    assert (source["uid"], source["type"], source["url"]) == (DATASOURCE_UID, "influxdb", "http://influxdb:8086")
    assert source["jsonData"]["dbName"] == "hazwatch"
    (provider,) = yaml.safe_load((tmp_path / "dashboards" / "hazwatch.yaml").read_text())["providers"]
    assert provider["type"] == "file" and provider["folderUid"] == FOLDER_UID
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards/hazwatch"
    files = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "dashboards" / "hazwatch").glob("*.json")}
    assert files == {d["uid"]: d for d in example_dashboards}
    (group,) = yaml.safe_load((tmp_path / "alerting" / "hazwatch.yaml").read_text())["groups"]
    assert [rule["uid"] for rule in group["rules"]] == [RULE_UID]


def test_building_configs_one_by_one_into_one_folder_merges_them(tmp_path):
    together, apart = tmp_path / "together", tmp_path / "apart"
    _build(together, MINE, PLANT)
    _build(apart, MINE)
    _build(apart, PLANT)
    assert _tree(apart) == _tree(together)


def test_rebuilding_is_byte_identical(tmp_path):
    _build(tmp_path / "a", MINE)
    _build(tmp_path / "b", MINE)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_a_bad_config_is_refused_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: []\n")
    result = CliRunner().invoke(app, ["dashboards", "build", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()
