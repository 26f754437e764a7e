"""Alarm KPIs to and from InfluxDB 1.x (HTTP `/write`, and the one reader for `/query`).

Writes measurement `alarm_kpi` (one point per analysed period, tagged by site or "all") and reads alarm
events back from measurement `alarms`, whose rows must carry `rule`, `transition` and `priority`
besides the documented site / sensor tags for the KPIs to tell activations apart.
"""

from __future__ import annotations

import httpx

from collector.storage.influx_auth import InfluxCredentials
from collector.storage.query import InfluxQuery
from detectors.alarms.kpi import AlarmKpis, KpiRecord
from hazwatch.config.schema import InfluxSettings
from hazwatch.storage.lineprotocol import FieldValue, encode_point
from hazwatch.storage.schema import ALARM_KPI, ALARMS


def kpi_lines(kpis: AlarmKpis, site: str = "all", standing: int | None = None) -> list[str]:
    """Line protocol at the end of the period: totals, then one point per priority and per bad actor.

    `site` is a site id, or "all" for a whole deployment; `standing` is the number of alarms
    active at the end of the period when the caller knows it (the live writer does).
    """
    in_flood = any(p.end_ns >= kpis.end_ns for p in kpis.flood_periods)
    fields: dict[str, FieldValue] = {
        "alarms": kpis.alarms,
        "alarms_10min": kpis.alarms_last_interval,
        "per_10min_mean": float(kpis.per_10min_mean),
        "per_10min_max": kpis.per_10min_max,
        "flood": int(in_flood),
        "flood_periods": len(kpis.flood_periods),
        "flood_percent": float(kpis.flood_percent_time),
        "chattering": len(kpis.chattering),
        "stale": len(kpis.stale),
        "hours": float(kpis.hours),
    }
    if standing is not None:
        fields["standing"] = standing
    tags = [("site", site)]
    lines = [encode_point(ALARM_KPI, tags, fields, kpis.end_ns)]
    lines += [
        encode_point(ALARM_KPI, [*tags, ("priority", p)], {"percent": float(pct)}, kpis.end_ns)
        for p, pct in kpis.priority_split.items()
    ]
    lines += [
        encode_point(ALARM_KPI, [*tags, ("bad_actor", key)], {"activations": count, "rank": rank}, kpis.end_ns)
        for rank, (key, count) in enumerate(kpis.bad_actors, start=1)
    ]
    return lines


def _client(timeout: float, credentials: InfluxCredentials | None) -> httpx.Client:
    """Without `credentials`: those of the default InfluxDB settings (HAZWATCH_INFLUX_USER/_PASSWORD/_TOKEN)."""
    credentials = credentials or InfluxCredentials.from_settings(InfluxSettings())
    return httpx.Client(timeout=timeout, **credentials.httpx_options())


def write_kpis(
    url: str,
    database: str,
    kpis: AlarmKpis,
    site: str = "all",
    timeout: float = 10.0,
    credentials: InfluxCredentials | None = None,
) -> int:
    lines = kpi_lines(kpis, site)
    with _client(timeout, credentials) as client:
        response = client.post(
            f"{url.rstrip('/')}/write", params={"db": database, "precision": "ns"}, content="".join(lines).encode()
        )
    response.raise_for_status()
    return len(lines)


def read_alarm_records(
    url: str, database: str, hours: float, credentials: InfluxCredentials | None = None, timeout: float = 30.0
) -> list[KpiRecord]:
    with InfluxQuery(url, database, credentials=credentials, timeout=timeout) as reader:
        found = reader.series(f"SELECT * FROM {ALARMS} WHERE time > now() - {int(hours * 3600)}s")
    records: list[KpiRecord] = []
    for series in found:
        columns = series["columns"]
        missing = {"site", "sensor", "rule", "transition"} - set(columns)
        if missing:
            raise RuntimeError(f"measurement alarms lacks {sorted(missing)}: cannot tell alarm activations apart")
        index = {name: i for i, name in enumerate(columns)}
        for row in series["values"]:
            records.append(
                KpiRecord(
                    key=f"{row[index['site']]}/{row[index['sensor']]}/{row[index['rule']]}",
                    transition=str(row[index["transition"]]),
                    priority=str(row[index["priority"]]) if "priority" in index else "",
                    time_ns=int(row[index["time"]]),
                )
            )
    return records
