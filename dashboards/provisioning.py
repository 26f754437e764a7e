"""A Grafana provisioning tree on disk: mount it at /etc/grafana/provisioning and Grafana loads it.

    DIR/datasources/hazwatch.yaml     the InfluxDB (InfluxQL) datasource, fixed uid
    DIR/dashboards/hazwatch.yaml      the file provider pointing at the JSON below
    DIR/dashboards/hazwatch/*.json    one file per dashboard, named by its uid
    DIR/alerting/hazwatch.yaml        the dead-man rule on hazwatch's heartbeat

Dashboards are written by uid and never deleted, so building several configs into one DIR
merges their sites; rebuilding a config replaces its own files.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from dashboards import alerting
from dashboards.build import FOLDER_TITLE, FOLDER_UID, build_dashboards
from dashboards.panels import DATASOURCE_NAME, DATASOURCE_UID
from hazwatch.config import HazwatchConfig

GRAFANA_PROVISIONING = "/etc/grafana/provisioning"
"""Where the official Grafana image reads provisioning from; the provider's path is inside it."""


def datasource(influx_url: str, database: str) -> dict:
    """The datasource as both the provisioning file and POST /api/datasources describe it."""
    return {
        "name": DATASOURCE_NAME,
        "uid": DATASOURCE_UID,
        "type": "influxdb",
        "access": "proxy",
        "url": influx_url,
        "database": database,
        "isDefault": True,
        "jsonData": {"dbName": database, "httpMode": "GET", "timeInterval": "5s"},
    }


def _write_yaml(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


def write_tree(
    configs: list[HazwatchConfig], out: Path, influx_url: str | None = None, mount: str = GRAFANA_PROVISIONING
) -> list[Path]:
    """Write (or merge into) a provisioning tree; returns the dashboard files written."""
    first = configs[0].influxdb
    _write_yaml(
        out / "datasources" / "hazwatch.yaml",
        {"apiVersion": 1, "datasources": [datasource(influx_url or first.url, first.database)]},
    )
    _write_yaml(
        out / "dashboards" / "hazwatch.yaml",
        {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "hazwatch",
                    "orgId": 1,
                    "folder": FOLDER_TITLE,
                    "folderUid": FOLDER_UID,
                    "type": "file",
                    "disableDeletion": False,
                    "allowUiUpdates": False,
                    "updateIntervalSeconds": 30,
                    "options": {"path": f"{mount}/dashboards/hazwatch", "foldersFromFilesStructure": False},
                }
            ],
        },
    )
    _write_yaml(out / "alerting" / "hazwatch.yaml", alerting.provisioning_file(FOLDER_TITLE))
    written: dict[Path, None] = {}
    folder = out / "dashboards" / "hazwatch"
    folder.mkdir(parents=True, exist_ok=True)
    for config in configs:
        for dashboard in build_dashboards(config):
            path = folder / f"{dashboard['uid']}.json"
            path.write_text(json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            written[path] = None
    return list(written)
