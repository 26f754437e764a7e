"""`hazwatch alarms ...`: operate alarms through the running collector's API, and report alarm KPIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from collector.alarms import TOKEN_ENV
from collector.app.cli.app import (
    EXIT_BAD_CONFIG,
    EXIT_RUNTIME,
    InfluxCaFile,
    app,
    console,
    err_console,
    influx_credentials,
)
from hazwatch.credentials import redact

if TYPE_CHECKING:
    from detectors.alarms.kpi import AlarmKpis, KpiRecord

alarms_app = typer.Typer(help="List, acknowledge, shelve and reset alarms; alarm-system KPIs (ISA-18.2).")
app.add_typer(alarms_app, name="alarms")

ApiUrl = Annotated[str, typer.Option("--api-url", envvar="HAZWATCH_API_URL", help="the collector's alarm API")]
Token = Annotated[str, typer.Option("--token", envvar=TOKEN_ENV, help=f"bearer token (env {TOKEN_ENV})")]
User = Annotated[str, typer.Option("--user", "-u", help="who is acting: recorded in the audit trail")]
Comment = Annotated[str, typer.Option("--comment", help="why, for the audit trail")]
DEFAULT_API = "http://127.0.0.1:8765"


def _call(method: str, api_url: str, path: str, token: str, body: dict | None = None) -> dict:
    if not token:
        err_console.print(f"[bold red]no API token[/]: pass --token or set {TOKEN_ENV}")
        raise typer.Exit(EXIT_BAD_CONFIG)
    import httpx

    try:
        response = httpx.request(
            method, f"{api_url.rstrip('/')}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except httpx.HTTPError as exc:
        err_console.print(f"[bold red]cannot reach the alarm API at {api_url}[/]: {exc}")
        raise typer.Exit(EXIT_RUNTIME) from None
    data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
    if not response.is_success:
        err_console.print(f"[bold red]refused ({response.status_code})[/]: {data.get('error', response.text)}")
        raise typer.Exit(
            EXIT_RUNTIME if response.status_code >= 500 or response.status_code == 409 else EXIT_BAD_CONFIG
        )
    return data


@alarms_app.command("list")
def list_alarms(api_url: ApiUrl = DEFAULT_API, token: Token = "") -> None:
    """Active alarms (unacknowledged, acknowledged, latched, shelved, out of service), highest level first."""
    rows = _call("GET", api_url, "/alarms", token)["alarms"]
    table = Table(title=f"{len(rows)} active alarm(s)")
    for column in ("site", "sensor", "rule", "state", "level", "value", "limit", "since", "message"):
        table.add_column(column, no_wrap=column in ("sensor", "rule", "state"))
    for a in rows:
        value = "—" if a["value"] is None else f"{a['value']:g} {a['unit']}"
        limit = "—" if a["limit"] is None else f"{a['limit']:g}"
        table.add_row(
            a["site"], a["sensor"], a["rule"], a["state"], f"{a['level']} {a['level_name']}",
            value, limit, a["raised"] or "", a["message"],
        )  # fmt: skip
    console.print(table)


def _act(action: str, site: str, sensor: str, rule: str, api_url: str, token: str, body: dict) -> None:
    data = _call("POST", api_url, f"/alarms/{site}/{sensor}/{rule}/{action}", token, body)
    for event in data["events"]:
        console.print(f"{event['transition']}: {site}/{sensor} {rule} is now {event['state']} ({event['event_id']})")


def _plain_action(action: str, doc: str) -> None:
    """Register `hazwatch alarms ACTION`: an action that takes only who acts and why."""

    def command(
        site: str,
        sensor: str,
        rule: str,
        user: User,
        comment: Comment = "",
        api_url: ApiUrl = DEFAULT_API,
        token: Token = "",
    ) -> None:
        _act(action, site, sensor, rule, api_url, token, {"user": user, "comment": comment})

    command.__doc__ = doc
    alarms_app.command(action)(command)


_plain_action("ack", "Acknowledge an alarm.")


@alarms_app.command("shelve")
def shelve(
    site: str,
    sensor: str,
    rule: str,
    user: User,
    minutes: Annotated[float, typer.Option(help="shelved this long, at most 24 h")] = 60.0,
    comment: Comment = "",
    api_url: ApiUrl = DEFAULT_API,
    token: Token = "",
) -> None:
    """Shelve a nuisance alarm for a limited time (level 2 / power-cut alarms cannot be shelved)."""
    _act("shelve", site, sensor, rule, api_url, token, {"user": user, "minutes": minutes, "comment": comment})


_plain_action("unshelve", "End shelving before it expires.")
_plain_action(
    "reset", "Reset a latched alarm (e.g. a methane power-cut) once the reading is back below its restore value."
)


def _records_from_jsonl(path: Path) -> list[KpiRecord]:
    from collector.notify.payload import kpi_record_from_payload

    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(kpi_record_from_payload(json.loads(line)))
        except (ValueError, KeyError) as exc:
            err_console.print(f"[bold red]{path}:{number}[/]: not an alarm event ({exc})")
            raise typer.Exit(EXIT_BAD_CONFIG) from None
    return records


def _print_kpis(kpis: AlarmKpis) -> None:
    from collector.notify.payload import rfc3339

    console.print(f"period {rfc3339(kpis.start_ns)} .. {rfc3339(kpis.end_ns)} ({kpis.hours:.1f} h)")
    console.print(
        f"activations {kpis.alarms}; per 10 min mean {kpis.per_10min_mean:.2f}, max {kpis.per_10min_max}"
        " (target ~1, at most 10)"
    )
    console.print(
        f"floods {len(kpis.flood_periods)} (>10 in 10 min until <5), {kpis.flood_percent_time:.2f} % of the time"
        " (target < 1 %)"
    )
    console.print(f"chattering alarms {len(kpis.chattering)}; stale (> 24 h) {len(kpis.stale)}")
    split = ", ".join(f"{p} {pct:.0f} %" for p, pct in kpis.priority_split.items()) or "—"
    console.print(f"priority split: {split} (target ~80/15/5 low/medium/high)")
    table = Table(title="top bad actors")
    table.add_column("alarm")
    table.add_column("activations", justify="right")
    for key, count in kpis.bad_actors:
        table.add_row(key, str(count))
    console.print(table)


@alarms_app.command("kpi")
def kpi(
    from_file: Annotated[
        Path | None, typer.Option("--from", help="alarm events as JSON lines (webhook payloads)")
    ] = None,
    influx_url: Annotated[str | None, typer.Option("--influx-url", help="read measurement `alarms` from here")] = None,
    database: Annotated[str, typer.Option(help="InfluxDB database")] = "hazwatch",
    hours: Annotated[float, typer.Option(help="with --influx-url: look back this far")] = 24.0,
    write: Annotated[
        bool, typer.Option("--write/--no-write", help="write measurement alarm_kpi to --influx-url")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the KPIs as JSON")] = False,
    influx_ca_file: InfluxCaFile = None,
) -> None:
    """ISA-18.2 KPIs: alarms per 10 min, floods, chattering and stale alarms, top-10 bad actors, priority split."""
    if (from_file is None) == (influx_url is None):
        err_console.print("give exactly one of --from FILE.jsonl or --influx-url URL")
        raise typer.Exit(EXIT_BAD_CONFIG)
    if write and influx_url is None:
        err_console.print("--write needs --influx-url")
        raise typer.Exit(EXIT_BAD_CONFIG)
    import httpx

    from collector.storage.kpi_influx import read_alarm_records, write_kpis
    from detectors.alarms.kpi import compute_kpis

    try:
        if from_file is not None:
            records = _records_from_jsonl(from_file)
        else:
            records = read_alarm_records(influx_url, database, hours, influx_credentials(influx_ca_file))
        kpis = compute_kpis(records)
        if write:
            write_kpis(influx_url, database, kpis, credentials=influx_credentials(influx_ca_file))
    except (OSError, httpx.HTTPError, RuntimeError) as exc:
        err_console.print(f"[bold red]cannot compute KPIs[/]: {redact(str(exc))}")
        raise typer.Exit(EXIT_RUNTIME) from None
    if as_json:
        console.print_json(json.dumps(kpis.to_dict()))
    else:
        _print_kpis(kpis)
