"""The webhook payload: one AlarmEvent with the sensor's identity from the site config.

The schema is a public contract (docs/webhooks.md): field names never change meaning, new fields
may be added. Bodies are encoded once, stored in the outbox and re-sent byte for byte, so a
retried delivery carries the same body, the same `event_id` and a signature over exactly it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from detectors.alarms.kpi import KpiRecord
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent

SCHEMA_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rfc3339(time_ns: int) -> str:
    """UTC with millisecond precision and a Z, which every JSON consumer parses."""
    seconds, rest = divmod(int(time_ns), 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest // 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> int:
    """Integer arithmetic, so a timestamp read back is the nanosecond it was written as."""
    delta = datetime.fromisoformat(text) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _number(value: float) -> float | None:
    """JSON has no NaN: an unknown value is null, never a made-up zero."""
    return None if value is None or not math.isfinite(value) else float(value)


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return _number(value)
    if hasattr(value, "item"):  # numpy scalars
        return _json_safe(value.item())
    return str(value)


class PayloadBuilder:
    """Maps an event's slot to site, area, sensor, kind and unit through the registry."""

    def __init__(self, registry: SensorRegistry) -> None:
        self.registry = registry

    def build(self, event: AlarmEvent) -> dict[str, object]:
        info = self.registry.sensors[event.slot] if 0 <= event.slot < len(self.registry.sensors) else None
        extra = dict(event.extra)
        payload: dict[str, object] = {
            "schema": SCHEMA_VERSION,
            "event_id": event.event_id,
            "site": info.site if info else "",
            "area": info.area if info else "",
            "sensor": info.sensor if info else f"slot-{event.slot}",
            "sensor_name": info.name if info else "",
            "kind": info.kind.value if info else "",
            "rule": event.rule,
            "category": event.category,
            "transition": event.transition.value,
            "state": event.state.value,
            "level": event.level,
            "level_name": event.level_name,
            "peak_level": int(extra.pop("peak_level", event.level)),
            "priority": event.priority,
            "value": _number(event.value),
            "limit": _number(event.limit),
            "unit": info.unit if info else "",
            "time": rfc3339(event.time_ns),
            "message": event.message,
            "user": extra.pop("user", None),
            "extra": _json_safe(extra),
        }
        return payload

    @staticmethod
    def stream_key(payload: dict[str, object]) -> str:
        """Deliveries are ordered per sensor: one receiver never sees event n+1 of a sensor before event n."""
        return f"{payload['site']}/{payload['sensor']}"


def encode(body: object) -> bytes:
    """Compact, key-sorted UTF-8 JSON: the exact bytes that are signed and stored."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def kpi_record_from_payload(payload: dict[str, object]) -> KpiRecord:
    """A stored webhook payload (a JSONL line) back into what the KPIs need."""
    return KpiRecord(
        key=f"{payload['site']}/{payload['sensor']}/{payload['rule']}",
        transition=str(payload["transition"]),
        priority=str(payload.get("priority", "")),
        time_ns=parse_rfc3339(str(payload["time"])),
    )
