"""Alarm state and audit trail on disk (SQLite in the state folder).

The lifecycle's snapshot is stored with sensors named by site/sensor rather than by slot, so a
restart with an edited config (sensors added or reordered) still restores each alarm onto the
right sensor. The audit trail records who did what to which alarm and what came of it — the
"who acknowledged when" that an inspector asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from collector.storage.durable_sqlite import open_durable
from collector.telemetry.logs import RateLimitedLog
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config import SensorRegistry
from hazwatch.events import AlarmEvent

log = logging.getLogger("hazwatch.alarm_store")
STORE_FILE = "alarms.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    saved_ns INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns INTEGER NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    site TEXT NOT NULL,
    sensor TEXT NOT NULL,
    rule TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    event_ids TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses_used (
    token_id TEXT PRIMARY KEY,
    time_ns INTEGER NOT NULL,
    user TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    sensor TEXT NOT NULL,
    rule TEXT NOT NULL,
    started_ns INTEGER NOT NULL,
    ended_ns INTEGER,
    peak_level INTEGER NOT NULL,
    peak_level_name TEXT NOT NULL,
    peak_value REAL,
    unit TEXT NOT NULL,
    first_event_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_records_key ON alarm_records (site, sensor, rule, id);
CREATE TABLE IF NOT EXISTS alarm_record_responses (
    record_id INTEGER NOT NULL REFERENCES alarm_records (id),
    time_ns INTEGER NOT NULL,
    user TEXT NOT NULL,
    answer TEXT NOT NULL,
    measures TEXT NOT NULL,
    via TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    time_ns: int
    user: str
    action: str
    site: str
    sensor: str
    rule: str
    outcome: str
    """'done' or 'refused: <reason>'."""
    detail: dict[str, object]
    event_ids: list[str]


@dataclass(frozen=True, slots=True)
class UsedResponse:
    time_ns: int
    user: str
    answer: str


@dataclass(frozen=True, slots=True)
class RecordResponse:
    time_ns: int
    user: str
    answer: str
    """'ack' or 'handled'."""
    measures: str
    via: str
    """'response link', 'api' ..."""


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """One alarm episode as an inspector asks for it: start, peak, end, who answered, when, what was done."""

    id: int
    site: str
    sensor: str
    rule: str
    started_ns: int
    ended_ns: int | None
    peak_level: int
    peak_level_name: str
    peak_value: float | None
    unit: str
    first_event_id: str
    responses: list[RecordResponse]


class AlarmStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = open_durable(self.path, _SCHEMA)

    @classmethod
    def in_state_dir(cls, state_dir: Path | str) -> AlarmStore:
        return cls(Path(state_dir) / STORE_FILE)

    # ---- active alarm state ---------------------------------------------------------------

    def save_snapshot(self, snapshot: dict, registry: SensorRegistry) -> None:
        data = _map_slots(snapshot, lambda slot: registry.sensors[slot].key)
        self._db.execute(
            "INSERT OR REPLACE INTO snapshot (id, saved_ns, data) VALUES (1, ?, ?)",
            (time.time_ns(), json.dumps(data)),
        )

    def load_snapshot(self, registry: SensorRegistry) -> dict | None:
        """The stored snapshot with slots of the current config; alarms of sensors no longer configured are dropped."""
        row = self._db.execute("SELECT data FROM snapshot WHERE id = 1").fetchone()
        if row is None:
            return None
        slots = {s.key: s.slot for s in registry.sensors}
        data = json.loads(row[0])
        missing = _missing_keys(data, slots)
        if missing:
            log.warning("restored alarm state names sensors no longer configured, dropped: %s", sorted(missing))
        return _map_slots(data, slots.get)

    # ---- audit trail ----------------------------------------------------------------------

    def record_action(
        self,
        user: str,
        action: str,
        site: str,
        sensor: str,
        rule: str,
        outcome: str,
        detail: dict[str, object] | None = None,
        events: Sequence[AlarmEvent] = (),
        time_ns: int | None = None,
    ) -> AuditEntry:
        entry_time = time.time_ns() if time_ns is None else time_ns
        event_ids = [e.event_id for e in events]
        cursor = self._db.execute(
            "INSERT INTO audit (time_ns, user, action, site, sensor, rule, outcome, detail, event_ids)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry_time, user, action, site, sensor, rule, outcome, json.dumps(detail or {}), json.dumps(event_ids)),
        )
        return AuditEntry(
            cursor.lastrowid, entry_time, user, action, site, sensor, rule, outcome, detail or {}, event_ids
        )

    def audit(self, limit: int = 100, since_ns: int | None = None) -> list[AuditEntry]:
        """Newest first."""
        rows = self._db.execute(
            "SELECT id, time_ns, user, action, site, sensor, rule, outcome, detail, event_ids FROM audit"
            " WHERE time_ns >= ? ORDER BY id DESC LIMIT ?",
            (since_ns or 0, limit),
        ).fetchall()
        return [AuditEntry(*row[:8], json.loads(row[8]), json.loads(row[9])) for row in rows]

    # ---- response links: single use -------------------------------------------------------

    def claim_response(self, token_id: str, user: str, answer: str, time_ns: int) -> bool:
        """True for the first answer on a token; False once it was used (the link is single-use)."""
        before = self._db.total_changes
        self._db.execute(
            "INSERT OR IGNORE INTO responses_used (token_id, time_ns, user, answer) VALUES (?, ?, ?, ?)",
            (token_id, time_ns, user, answer),
        )
        return self._db.total_changes > before

    def response_used(self, token_id: str) -> UsedResponse | None:
        row = self._db.execute(
            "SELECT time_ns, user, answer FROM responses_used WHERE token_id = ?", (token_id,)
        ).fetchone()
        return None if row is None else UsedResponse(*row)

    # ---- handling records: start, peak, end, who answered, what was done -------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Many writes, one commit (one fsync): a burst of alarm events costs one disk flush, not one each."""
        with self._db:
            self._db.execute("BEGIN")
            yield

    def open_record(
        self, site: str, sensor: str, rule: str, time_ns: int, level: int, level_name: str, value: float | None,
        unit: str, event_id: str,
    ) -> None:
        self._db.execute(
            "INSERT INTO alarm_records (site, sensor, rule, started_ns, peak_level, peak_level_name, peak_value, unit,"
            " first_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (site, sensor, rule, time_ns, level, level_name, value, unit, event_id),
        )

    def _current_record(self, site: str, sensor: str, rule: str) -> int | None:
        row = self._db.execute(
            "SELECT id FROM alarm_records WHERE site = ? AND sensor = ? AND rule = ? ORDER BY id DESC LIMIT 1",
            (site, sensor, rule),
        ).fetchone()
        return None if row is None else row[0]

    def extend_open_record(
        self, site: str, sensor: str, rule: str, level: int, level_name: str, value: float | None
    ) -> bool:
        """A raise while the episode is still open (no clear in between) continues it; False when none is open."""
        record = self._current_record(site, sensor, rule)
        row = None if record is None else self._db.execute(
            "SELECT ended_ns FROM alarm_records WHERE id = ?", (record,)
        ).fetchone()
        if row is None or row[0] is not None:
            return False
        self.update_peak(site, sensor, rule, level, level_name, value)
        return True

    def update_peak(self, site: str, sensor: str, rule: str, level: int, level_name: str, value: float | None) -> None:
        """The peak is the highest level the episode reached and the reading that reached it."""
        record = self._current_record(site, sensor, rule)
        if record is None:
            return
        self._db.execute(
            "UPDATE alarm_records SET peak_level = ?, peak_level_name = ?, peak_value = ?"
            " WHERE id = ? AND ended_ns IS NULL AND peak_level < ?",
            (level, level_name, value, record, level),
        )

    def close_record(self, site: str, sensor: str, rule: str, time_ns: int) -> None:
        record = self._current_record(site, sensor, rule)
        if record is not None:
            self._db.execute(
                "UPDATE alarm_records SET ended_ns = ? WHERE id = ? AND ended_ns IS NULL", (time_ns, record)
            )

    def add_record_response(
        self, site: str, sensor: str, rule: str, time_ns: int, user: str, answer: str, measures: str, via: str
    ) -> None:
        record = self._current_record(site, sensor, rule)
        if record is not None:
            self._db.execute(
                "INSERT INTO alarm_record_responses (record_id, time_ns, user, answer, measures, via)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (record, time_ns, user, answer, measures, via),
            )

    def records(self, limit: int = 100) -> list[AlarmRecord]:
        """Newest first."""
        rows = self._db.execute(
            "SELECT id, site, sensor, rule, started_ns, ended_ns, peak_level, peak_level_name, peak_value, unit,"
            " first_event_id FROM alarm_records ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        out = []
        for row in rows:
            answers = self._db.execute(
                "SELECT time_ns, user, answer, measures, via FROM alarm_record_responses WHERE record_id = ?"
                " ORDER BY time_ns",
                (row[0],),
            ).fetchall()
            out.append(AlarmRecord(*row, responses=[RecordResponse(*a) for a in answers]))
        return out

    def close(self) -> None:
        self._db.close()


def _map_slots(snapshot: dict, to: object) -> dict:
    """Rewrite every sensor reference of a lifecycle snapshot with `to(old)`; references mapped to None are dropped."""
    out = dict(snapshot)
    out["alarms"] = [row | {"slot": to(row["slot"])} for row in snapshot["alarms"] if to(row["slot"]) is not None]
    for name in ("out_of_service", "sequence", "activations"):
        out[name] = [[to(item[0]), *item[1:]] for item in snapshot[name] if to(item[0]) is not None]
    return out


def _missing_keys(data: dict, slots: dict[str, int]) -> set[str]:
    keys = {row["slot"] for row in data["alarms"]} | {item[0] for item in data["out_of_service"]}
    return {k for k in keys if k not in slots}


def restore_lifecycle(lifecycle: AlarmLifecycle, store: AlarmStore, registry: SensorRegistry) -> int:
    """Load the stored state into `lifecycle`; returns how many alarms are active again."""
    snapshot = store.load_snapshot(registry)
    if snapshot is None:
        return 0
    lifecycle.restore(snapshot)
    return len(lifecycle.active())


class AlarmStatePersister:
    """EventSink that saves the lifecycle's snapshot shortly after events, off the detection path."""

    def __init__(
        self, lifecycle: AlarmLifecycle, store: AlarmStore, registry: SensorRegistry, interval: float = 0.5
    ) -> None:
        self.lifecycle = lifecycle
        self.store = store
        self.registry = registry
        self.interval = interval
        self._dirty = False
        self._problems = RateLimitedLog(log)
        self.error: sqlite3.Error | None = None
        """Why the last save failed (disk full), None once one succeeded: a system alarm stands meanwhile."""

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        if events:
            self._dirty = True

    def save_now(self) -> None:
        self._dirty = False
        try:
            self.store.save_snapshot(self.lifecycle.snapshot(), self.registry)
        except sqlite3.Error as exc:
            self._dirty = True
            self.error = exc
            self._problems.error("snapshot", "cannot save alarm state: %s", exc)
            return
        self.error = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self._dirty:
                self.save_now()

    async def close(self) -> None:
        self.save_now()
