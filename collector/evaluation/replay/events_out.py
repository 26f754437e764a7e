"""Alarm events written as JSONL (the webhook payload, so `hazwatch alarms kpi --from` reads it) or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

from collector.notify.payload import PayloadBuilder
from detectors.alarms.kpi import KpiRecord, kpi_record
from hazwatch.config.registry import SensorRegistry
from hazwatch.events import AlarmEvent

FIELDS = [  # the CSV columns: the webhook payload's flat fields
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


def kpi_records(events: Sequence[AlarmEvent], registry: SensorRegistry) -> list[KpiRecord]:
    return [kpi_record(e, registry) for e in events]


def write_events(path: str | Path, events: Sequence[AlarmEvent], registry: SensorRegistry) -> int:
    """JSON Lines for .jsonl/.json, CSV for .csv; returns how many events were written."""
    path = Path(path)
    builder = PayloadBuilder(registry)
    records = [builder.build(e) for e in events]
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
    else:
        with path.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
