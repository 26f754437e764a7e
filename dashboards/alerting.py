"""A Grafana-managed dead-man alert on hazwatch's own heartbeat: the second line of defence.

hazwatch raises alarms itself; this rule is for when hazwatch is the thing that failed. The
collector writes `hazwatch_health heartbeat=1i` every few seconds; no heartbeat for two
minutes, or no data at all, fires the alert in Grafana, independent of the collector.
"""

from __future__ import annotations

from dashboards.panels import DATASOURCE_UID
from hazwatch.storage.schema import SYSTEM_HEALTH

RULE_UID = "hazwatch-heartbeat"
RULE_GROUP = "hazwatch-deadman"
WINDOW_S = 120


def deadman_rule() -> dict:
    """The rule body shared by file provisioning and the provisioning HTTP API."""
    query = f'SELECT count("heartbeat") AS "heartbeats" FROM "{SYSTEM_HEALTH}" WHERE $timeFilter'
    return {
        "uid": RULE_UID,
        "title": "hazwatch heartbeat missing",
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "datasourceUid": DATASOURCE_UID,
                "relativeTimeRange": {"from": WINDOW_S, "to": 0},
                "model": {"refId": "A", "query": query, "rawQuery": True, "resultFormat": "time_series"},
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "sum"},
            },
            {
                "refId": "C",
                "datasourceUid": "__expr__",
                "model": {
                    "refId": "C",
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": "lt", "params": [1]}}],
                },
            },
        ],
        "noDataState": "Alerting",
        "execErrState": "Alerting",
        "for": "1m",
        "annotations": {
            "summary": "hazwatch has written no heartbeat for 2 minutes: collection, detection or storage is down."
        },
        "labels": {"severity": "critical", "service": "hazwatch"},
    }


def provisioning_file(folder_title: str) -> dict:
    """The rule as Grafana's alerting file-provisioning document (alerting/*.yaml)."""
    return {
        "apiVersion": 1,
        "groups": [
            {"orgId": 1, "name": RULE_GROUP, "folder": folder_title, "interval": "1m", "rules": [deadman_rule()]}
        ],
    }


def api_body(folder_uid: str) -> dict:
    """The rule as POST/PUT /api/v1/provisioning/alert-rules expects it."""
    return {**deadman_rule(), "folderUID": folder_uid, "ruleGroup": RULE_GROUP, "orgID": 1}
