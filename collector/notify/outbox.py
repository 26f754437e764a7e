"""The durable webhook outbox: every delivery is on disk before its first attempt, unless the disk refuses.

One SQLite file in the state folder. A delivery leaves the outbox only when its receiver
answered 2xx, so a receiver outage or a hazwatch restart loses nothing. Deliveries are grouped
into streams (one receiver, one sensor); only the oldest pending delivery of a stream is ever
handed out, which is what keeps each sensor's events in order at each receiver.

Alarms never wait for a disk: when SQLite cannot write (disk full, I/O error) a new delivery is
held in memory and handed out from there at once; deliveries and failures the disk would not
record are remembered in memory too. Every pass moves what is held onto the disk as soon as it
takes writes again. `disk_error` says why it does not, for the system alarm.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from collector.storage.durable_sqlite import open_durable
from collector.telemetry.logs import RateLimitedLog

log = logging.getLogger("hazwatch.outbox")

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


@dataclass(slots=True)
class _Held:
    """A delivery the disk would not take: handed out from memory, written to the outbox once it can be."""

    new: NewDelivery
    created_ns: int
    attempts: int = 0
    next_attempt_ns: int = 0
    last_error: str | None = None


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_durable(path, _SCHEMA)
        self._held: dict[int, _Held] = {}
        """Negative id -> delivery held in memory, oldest first."""
        self._next_held = -1
        self._moved: dict[int, int] = {}
        """Held id -> its id on disk, for a delivery that was in flight from memory when it was written."""
        self._done: set[int] = set()
        """Delivered, but the disk refused to delete them: never handed out again."""
        self._retry: dict[int, tuple[int, str]] = {}
        """Failed, but the disk refused to record it: next attempt and error, kept in memory."""
        self._last_pending = 0
        self.disk_error: sqlite3.Error | None = None
        self._problems = RateLimitedLog(log)

    def add(self, deliveries: list[NewDelivery], now_ns: int) -> int:
        """Store deliveries in one transaction; one already stored (same receiver and event_id) is not added twice.
        When the disk refuses, they are held in memory (and handed out from there) instead."""
        if not deliveries:
            return 0
        if not self.persist_held():
            return self._hold(deliveries, now_ns)
        before = self._db.total_changes
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR IGNORE INTO deliveries (subscriber, url, stream, event_id, body, created_ns)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(d.subscriber, d.url, d.stream, d.event_id, d.body, now_ns) for d in deliveries],
                )
        except sqlite3.Error as exc:
            self._refused(exc, f"storing {len(deliveries)} deliveries")
            return self._hold(deliveries, now_ns)
        return self._db.total_changes - before

    def _hold(self, deliveries: list[NewDelivery], now_ns: int) -> int:
        known = {(h.new.subscriber, h.new.url, h.new.event_id) for h in self._held.values()}
        added = 0
        for delivery in deliveries:
            if (delivery.subscriber, delivery.url, delivery.event_id) in known:
                continue
            self._held[self._next_held] = _Held(delivery, now_ns)
            self._next_held -= 1
            added += 1
        return added

    def persist_held(self) -> bool:
        """Write what memory holds (held deliveries, unrecorded deliveries and failures) to disk; True once
        nothing is left in memory. Held deliveries keep their order and their attempts."""
        if not (self._held or self._done or self._retry):
            return True
        held = list(self._held.items())
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM deliveries WHERE id = ?", [(i,) for i in self._done])
                self._db.executemany(
                    "UPDATE deliveries SET attempts = attempts + 1, next_attempt_ns = ?, last_error = ? WHERE id = ?",
                    [(at, error[:500], i) for i, (at, error) in self._retry.items()],
                )
                moved = {}
                for held_id, item in held:
                    d = item.new
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO deliveries (subscriber, url, stream, event_id, body, created_ns,"
                        " attempts, next_attempt_ns, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (d.subscriber, d.url, d.stream, d.event_id, d.body, item.created_ns, item.attempts,
                         item.next_attempt_ns, item.last_error),
                    )  # fmt: skip
                    if cursor.rowcount:
                        moved[held_id] = cursor.lastrowid
        except sqlite3.Error as exc:
            self._refused(exc, "writing what memory holds")
            return False
        if self.disk_error is not None:
            log.warning("webhook outbox %s writable again: %d held deliveries now on disk", self.path, len(held))
        self.disk_error = None
        self._done.clear()
        self._retry.clear()
        for held_id, _ in held:
            self._held.pop(held_id, None)
        self._moved.update(moved)
        return True

    def _refused(self, exc: sqlite3.Error, doing: str) -> None:
        self.disk_error = exc
        self._problems.error(
            "refused", "webhook outbox %s cannot be written (%s): %s; delivering from memory", self.path, doing, exc
        )

    def due(self, now_ns: int, busy_streams: set[str], limit: int | None = None) -> list[Delivery]:
        """The head (oldest pending delivery) of each stream that is due and not already in flight; a stream's
        deliveries held in memory come after its deliveries on disk."""
        done = ",".join(str(i) for i in self._done) or "0"  # ids start at 1
        try:
            rows = self._db.execute(
                "SELECT d.id, d.subscriber, d.url, d.stream, d.event_id, d.body, d.attempts, d.next_attempt_ns"
                f" FROM deliveries d JOIN (SELECT stream, MIN(id) AS head FROM deliveries WHERE id NOT IN ({done})"
                " GROUP BY stream) h ON d.id = h.head ORDER BY d.id"
            ).fetchall()
        except sqlite3.Error as exc:
            self._problems.error("read", "cannot read the webhook outbox %s: %s", self.path, exc)
            rows = []
        heads: list[Delivery] = []
        on_disk = {row[3] for row in rows}
        for row in rows:
            next_attempt = self._retry[row[0]][0] if row[0] in self._retry else row[7]
            attempts = row[6] + (row[0] in self._retry)
            if next_attempt <= now_ns and row[3] not in busy_streams:
                heads.append(Delivery(*row[:6], attempts))
        seen = set(on_disk)
        for held_id, item in self._held.items():
            stream = item.new.stream
            if stream in seen:
                continue
            seen.add(stream)
            if item.next_attempt_ns <= now_ns and stream not in busy_streams:
                d = item.new
                heads.append(Delivery(held_id, d.subscriber, d.url, d.stream, d.event_id, d.body, item.attempts))
        return heads[:limit]

    def delivered(self, delivery_id: int) -> None:
        delivery_id = self._moved.pop(delivery_id, delivery_id)
        if self._held.pop(delivery_id, None) is not None:
            return
        try:
            self._db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))
        except sqlite3.Error as exc:
            self._refused(exc, "recording a delivery")
            self._done.add(delivery_id)
            self._retry.pop(delivery_id, None)

    def failed(self, delivery_id: int, next_attempt_ns: int, error: str) -> None:
        delivery_id = self._moved.pop(delivery_id, delivery_id)
        held = self._held.get(delivery_id)
        if held is not None:
            held.attempts += 1
            held.next_attempt_ns = next_attempt_ns
            held.last_error = error
            return
        try:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_ns = ?, last_error = ? WHERE id = ?",
                (next_attempt_ns, error[:500], delivery_id),
            )
        except sqlite3.Error as exc:
            self._refused(exc, "recording a failed attempt")
            self._retry[delivery_id] = (next_attempt_ns, error)

    def pending(self) -> int:
        """Deliveries not yet made: on disk (less those made but not yet deleted) and held in memory."""
        try:
            self._last_pending = self._db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
        except sqlite3.Error as exc:
            self._problems.error("read", "cannot count the webhook outbox %s: %s", self.path, exc)
        return self._last_pending - len(self._done) + len(self._held)

    @property
    def held(self) -> int:
        """Deliveries only in memory because the disk refused them."""
        return len(self._held)

    # ---- call and response ----------------------------------------------------------------

    def track_escalation(self, item: PendingEscalation) -> None:
        """Best effort on a refusing disk: the alarm itself is delivered; only its re-notification clock is lost."""
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO escalations (subscriber, slot, rule, payload, since_ns, step)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (item.subscriber, item.slot, item.rule, item.payload, item.since_ns, item.step),
            )
        except sqlite3.Error as exc:
            self._refused(exc, "tracking an escalation")

    def drop_escalations(self, slot: int, rule: str) -> None:
        try:
            self._db.execute("DELETE FROM escalations WHERE slot = ? AND rule = ?", (slot, rule))
        except sqlite3.Error as exc:
            self._refused(exc, "ending an escalation")

    def escalations(self) -> list[PendingEscalation]:
        rows = self._db.execute(
            "SELECT subscriber, slot, rule, payload, since_ns, step FROM escalations ORDER BY since_ns"
        ).fetchall()
        return [PendingEscalation(*row) for row in rows]

    def close(self) -> None:
        self._db.close()
