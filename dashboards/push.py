"""Create or update hazwatch's folder, datasource, dashboards and dead-man rule in a running Grafana.

Everything is addressed by fixed uid and written with overwrite, so pushing twice leaves
Grafana exactly as pushing once: operators can re-run it after every config change.
Endpoints (Grafana's HTTP API, via grafana-client): GET/POST/PUT /api/folders,
GET/POST/PUT /api/datasources/uid/..., POST /api/dashboards/db, GET/POST/PUT
/api/v1/provisioning/alert-rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from dashboards import alerting
from dashboards.build import FOLDER_TITLE, FOLDER_UID, build_dashboards
from dashboards.panels import DATASOURCE_UID
from dashboards.provisioning import datasource
from hazwatch.config import HazwatchConfig

TOKEN_ENV = "GRAFANA_TOKEN"


@dataclass
class PushResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def _missing(exc: GrafanaClientError) -> bool:
    return exc.status_code == 404


def _upsert(get: Callable[[], object], create: Callable[[], object], update: Callable[[], object]) -> bool:
    """Update when it exists, create when Grafana answers 404; True when created."""
    try:
        get()
    except GrafanaClientError as exc:
        if not _missing(exc):
            raise
        create()
        return True
    update()
    return False


def push(
    configs: list[HazwatchConfig],
    grafana_url: str,
    token: str | None,
    influx_url: str | None = None,
    deadman: bool = True,
    timeout: float = 10.0,
) -> PushResult:
    """Push every dashboard of the configs; raises grafana_client errors for refusals other than 404."""
    api = GrafanaApi.from_url(grafana_url, credential=token, timeout=timeout)
    result = PushResult()

    def record(name: str, created: bool) -> None:
        (result.created if created else result.updated).append(name)

    record(
        f"folder {FOLDER_UID}",
        _upsert(
            lambda: api.folder.get_folder(FOLDER_UID),
            lambda: api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID),
            lambda: api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True),
        ),
    )
    first = configs[0].influxdb
    body = datasource(influx_url or first.url, first.database)
    record(
        f"datasource {DATASOURCE_UID}",
        _upsert(
            lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID),
            lambda: api.datasource.create_datasource(body),
            lambda: api.datasource.update_datasource_by_uid(DATASOURCE_UID, body),
        ),
    )
    seen: set[str] = set()
    for config in configs:
        for dashboard in build_dashboards(config):
            if dashboard["uid"] in seen:
                continue
            seen.add(dashboard["uid"])
            response = api.dashboard.update_dashboard(
                {
                    "dashboard": {**dashboard, "id": None},
                    "folderUid": FOLDER_UID,
                    "overwrite": True,
                    "message": "hazwatch dashboards push",
                }
            )
            record(f"dashboard {dashboard['uid']}", response.get("version") == 1)
    if deadman:
        rule = alerting.api_body(FOLDER_UID)
        record(
            f"alert rule {alerting.RULE_UID}",
            _upsert(
                lambda: api.alertingprovisioning.get_alertrule(alerting.RULE_UID),
                lambda: api.alertingprovisioning.create_alertrule(rule),
                lambda: api.alertingprovisioning.update_alertrule(alerting.RULE_UID, rule),
            ),
        )
    return result
