"""The durable webhook outbox: every delivery is on disk before its first attempt.

One SQLite file in the state folder. A delivery leaves the outbox only when its receiver
answered 2xx, so a receiver outage or a hazwatch restart loses nothing. Deliveries are grouped
into streams (one receiver, one sensor); only the oldest pending delivery of a stream is ever
handed out, which is what keeps each sensor's events in order at each receiver.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from collector.storage.durable_sqlite import open_durable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscriber TEXT NOT NULL,
    url TEXT NOT NULL,
    stream TEXT NOT NULL,
    event_id TEXT NOT NULL,
    body BLOB NOT NULL,
    created_ns INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ns INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (subscriber, url, event_id)
);
CREATE INDEX IF NOT EXISTS deliveries_stream ON deliveries (stream, id);
CREATE TABLE IF NOT EXISTS escalations (
    subscriber TEXT NOT NULL,
    slot INTEGER NOT NULL,
    rule TEXT NOT NULL,
    payload TEXT NOT NULL,
    since_ns INTEGER NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (subscriber, slot, rule)
);
"""


@dataclass(frozen=True, slots=True)
class NewDelivery:
    subscriber: str
    url: str
    stream: str
    event_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscriber: str
    url: str
    stream: str
    event_id: str
    body: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class PendingEscalation:
    """An annunciated alarm a subscriber has not seen acknowledged yet (call and response)."""

    subscriber: str
    slot: int
    rule: str
    payload: str
    since_ns: int
    step: int


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_durable(path, _SCHEMA)

    def add(self, deliveries: list[NewDelivery], now_ns: int) -> int:
        """Store deliveries in one transaction; one already stored (same receiver and event_id) is not added twice."""
        if not deliveries:
            return 0
        before = self._db.total_changes
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO deliveries (subscriber, url, stream, event_id, body, created_ns)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(d.subscriber, d.url, d.stream, d.event_id, d.body, now_ns) for d in deliveries],
            )
        return self._db.total_changes - before

    def due(self, now_ns: int, busy_streams: set[str], limit: int | None = None) -> list[Delivery]:
        """The head (oldest pending delivery) of each stream that is due and not already in flight, oldest first."""
        rows = self._db.execute(
            "SELECT d.id, d.subscriber, d.url, d.stream, d.event_id, d.body, d.attempts FROM deliveries d"
            " JOIN (SELECT stream, MIN(id) AS head FROM deliveries GROUP BY stream) h ON d.id = h.head"
            " WHERE d.next_attempt_ns <= ? ORDER BY d.id",
            (now_ns,),
        ).fetchall()
        heads = [Delivery(*row) for row in rows if row[3] not in busy_streams]
        return heads[:limit]

    def delivered(self, delivery_id: int) -> None:
        self._db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))

    def failed(self, delivery_id: int, next_attempt_ns: int, error: str) -> None:
        self._db.execute(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_ns = ?, last_error = ? WHERE id = ?",
            (next_attempt_ns, error[:500], delivery_id),
        )

    def pending(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]

    def pending_by_subscriber(self) -> dict[str, int]:
        rows = self._db.execute("SELECT subscriber, COUNT(*) FROM deliveries GROUP BY subscriber").fetchall()
        return dict(rows)

    # ---- call and response ----------------------------------------------------------------

    def track_escalation(self, item: PendingEscalation) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO escalations (subscriber, slot, rule, payload, since_ns, step)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (item.subscriber, item.slot, item.rule, item.payload, item.since_ns, item.step),
        )

    def drop_escalations(self, slot: int, rule: str) -> None:
        self._db.execute("DELETE FROM escalations WHERE slot = ? AND rule = ?", (slot, rule))

    def escalations(self) -> list[PendingEscalation]:
        rows = self._db.execute(
            "SELECT subscriber, slot, rule, payload, since_ns, step FROM escalations ORDER BY since_ns"
        ).fetchall()
        return [PendingEscalation(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
