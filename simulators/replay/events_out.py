"""Alarm events as records (the webhook fields plus rule and transition), written as JSONL or CSV."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from collector.config.registry import SensorRegistry
from detectors.kpi import KpiRecord
from hazwatch.events import AlarmEvent

FIELDS = [
    "event_id",
    "time",
    "site",
    "area",
    "sensor",
    "kind",
    "rule",
    "category",
    "transition",
    "state",
    "level",
    "level_name",
    "priority",
    "value",
    "limit",
    "unit",
    "message",
]


def rfc3339(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_record(event: AlarmEvent, registry: SensorRegistry) -> dict[str, object]:
    info = registry.sensors[event.slot]
    return {
        "event_id": event.event_id,
        "time": rfc3339(event.time_ns),
        "site": info.site,
        "area": info.area,
        "sensor": info.sensor,
        "kind": info.kind.value,
        "rule": event.rule,
        "category": event.category,
        "transition": event.transition.value,
        "state": event.state.value,
        "level": event.level,
        "level_name": event.level_name,
        "priority": event.priority,
        "value": None if math.isnan(event.value) else event.value,
        "limit": None if math.isnan(event.limit) else event.limit,
        "unit": info.unit,
        "message": event.message,
    }


def kpi_records(events: Sequence[AlarmEvent], registry: SensorRegistry) -> list[KpiRecord]:
    return [
        KpiRecord(
            key=f"{registry.sensors[e.slot].key}/{e.rule}",
            transition=e.transition.value,
            priority=e.priority,
            time_ns=e.time_ns,
        )
        for e in events
    ]


def write_events(path: str | Path, events: Sequence[AlarmEvent], registry: SensorRegistry) -> int:
    """JSON Lines for .jsonl/.json, CSV for .csv; returns how many events were written."""
    path = Path(path)
    records = [event_record(e, registry) for e in events]
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(records)
    else:
        with path.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
