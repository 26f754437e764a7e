"""WebhookNotifier: the EventSink that pushes signed alarm webhooks through the durable outbox.

`submit_events` only builds bodies and writes them to the outbox (milliseconds, local disk), so
detection never waits on a receiver. `run` hands out the head of each (receiver, sensor) stream,
retries failures with exponential backoff and jitter for as long as it takes, and deletes a
delivery only once the receiver answered 2xx: at-least-once, with `event_id` as the idempotency key.

Subscribers are isolated from each other: each attempt has one total deadline (`timeout`, from
connect to the last byte of the answer, so a receiver trickling a byte every few seconds cannot
hold a slot), each subscriber may use at most `max_concurrent_per_subscriber` of the delivery
slots, and each is signed with its own secret when it has one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import httpx

from collector.notify.escalation import EscalationTracker
from collector.notify.filters import subscriber_wants
from collector.notify.formats import body_for, outgoing, refusal, robot_secret, through_outbox
from collector.notify.outbox import Delivery, NewDelivery, Outbox
from collector.notify.payload import PayloadBuilder
from collector.notify.signing import MissingSecret, load_secret, subscriber_secrets
from collector.notify.system_alarms import SystemAlarms
from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.config import SensorRegistry
from hazwatch.config.notify import Subscriber, WebhookSettings
from hazwatch.credentials import SecretProblem, redact
from hazwatch.events import AlarmEvent
from hazwatch.tls import TlsFiles

log = logging.getLogger("hazwatch.webhooks")
OUTBOX_FILE = "webhook-outbox.sqlite"


def retry_delay(attempts: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Exponential backoff with jitter (half fixed, half random), so many receivers recovering at once
    are not hit by synchronised retries; the fixed half keeps a retry from coming back immediately."""
    base = min(maximum, initial * 2 ** min(attempts, 30))
    return base / 2 + rng.uniform(0, base / 2)


def _shared_secret(settings: WebhookSettings) -> bytes | None:
    try:
        return load_secret(settings)
    except (MissingSecret, SecretProblem):
        return None


class WebhookNotifier:
    def __init__(
        self,
        settings: WebhookSettings,
        registry: SensorRegistry,
        state_dir: Path | str,
        secret: bytes | None = None,
        clock: Callable[[], int] = time.time_ns,
        poll_interval: float = 0.1,
        rng: random.Random | None = None,
        response_link: Callable[[dict[str, object]], str | None] | None = None,
        system: SystemAlarms | None = None,
    ) -> None:
        self.settings = settings
        self.subscribers = [s for s in settings.subscribers if through_outbox(s)]
        self._by_name = {s.name: s for s in self.subscribers}
        self._robot_secrets = {s.name: robot_secret(s) for s in self.subscribers}
        self.response_link = response_link
        signing = [s for s in self.subscribers if s.format == "hazwatch"]
        self.secrets = (
            {s.name: secret for s in signing} if secret is not None else subscriber_secrets(settings, signing)
        )
        """Signing secret per subscriber name; the escalation chain of a subscriber is signed with its secret."""
        self.shared_secret = secret if secret is not None else _shared_secret(settings)
        """For outbox rows of a subscriber no longer in the config (delivered as before the change)."""
        self.builder = PayloadBuilder(registry)
        self.outbox = Outbox(Path(state_dir) / OUTBOX_FILE)
        self.escalations = EscalationTracker(self.outbox, self.subscribers)
        self.clock = clock
        self.poll_interval = poll_interval
        self.rng = rng or random.Random()
        self._incoming: list[AlarmEvent] = []
        self._busy: set[str] = set()
        self._in_flight: dict[str, int] = {}
        """Deliveries in flight per subscriber, held to `max_concurrent_per_subscriber`."""
        self._tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._problems = RateLimitedLog(log)
        self.system = system
        """hazwatch's own faults, told to the subscribers; the outbox refusing writes is one of them."""
        if system is not None:
            system.watch("webhook outbox", lambda: self.outbox.disk_error)
        metrics.OUTBOX_PENDING.set(self.outbox.pending())

    # ---- EventSink ------------------------------------------------------------------------

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        self._incoming.extend(events)
        self._store_incoming()
        self._wake.set()

    async def run(self) -> None:
        verify = TlsFiles(self.settings.ca_file).context() if self.settings.ca_file else True
        async with httpx.AsyncClient(timeout=self.settings.timeout, verify=verify) as client:
            while True:
                self.outbox.persist_held()
                self._store_incoming()
                self._store_system_alarms()
                self._store_renotifications()
                self._start_due(client)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()

    async def close(self) -> None:
        """Persist what arrived during shutdown; undelivered events stay in the outbox for the next start."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._store_incoming()
        self.outbox.close()

    # ---- outbox ---------------------------------------------------------------------------

    def _store_incoming(self) -> None:
        if not self._incoming:
            return
        now = self.clock()
        rows: list[NewDelivery] = []
        told: list[tuple[AlarmEvent, dict[str, object], list[Subscriber]]] = []
        for event in self._incoming:
            payload = self._linked(self.builder.build(event))
            wanted = [s for s in self.subscribers if event.annunciate and subscriber_wants(s, payload)]
            stream = self.builder.stream_key(payload)
            rows += [
                NewDelivery(s.name, s.url, f"{s.name}|{s.url}|{stream}", event.event_id, body_for(s, payload))
                for s in wanted
            ]
            told.append((event, payload, wanted))
        try:
            self.outbox.add(rows, now)
            for event, payload, wanted in told:
                self.escalations.observe(event, payload, wanted, now)
        except sqlite3.Error as exc:
            # Kept in memory and retried on the next pass: never dropped because the disk hiccupped.
            metrics.WEBHOOK_DELIVERIES.labels("outbox", "store_error").inc()
            self._problems.error("outbox-store", "cannot store %d webhook deliveries: %s", len(rows), exc)
            return
        self._incoming.clear()
        metrics.OUTBOX_PENDING.set(self.outbox.pending())

    def _store_system_alarms(self) -> None:
        if self.system is None:
            return
        now = self.clock()
        rows = [
            NewDelivery(s.name, s.url, f"{s.name}|{s.url}|{self.builder.stream_key(p)}", str(p["event_id"]), body)
            for p in self.system.poll(now)
            for s in self.subscribers
            if subscriber_wants(s, p) and (body := body_for(s, p))
        ]
        if rows:
            self.outbox.add(rows, now)
            metrics.OUTBOX_PENDING.set(self.outbox.pending())

    def _store_renotifications(self) -> None:
        now = self.clock()
        rows: list[NewDelivery] = []
        for item in self.escalations.due(now):
            payload = self._linked(item.payload)
            stream = self.builder.stream_key(payload)
            event_id = str(payload["event_id"])
            body = body_for(item.subscriber, payload)
            rows += [
                NewDelivery(item.subscriber.name, url, f"{item.subscriber.name}|{url}|{stream}", event_id, body)
                for url in item.urls
            ]
            log.warning(
                "alarm unacknowledged: re-notifying %s for %s (%s)",
                ", ".join(item.urls),
                stream,
                item.payload["rule"],
            )
        if rows:
            self.outbox.add(rows, now)
            metrics.OUTBOX_PENDING.set(self.outbox.pending())

    def _linked(self, payload: dict[str, object]) -> dict[str, object]:
        """A paging event carries its own response link, so the person paged can answer from the message."""
        link = self.response_link(payload) if self.response_link is not None else None
        return payload | {"response_url": link} if link else payload

    # ---- delivery -------------------------------------------------------------------------

    def _start_due(self, client: httpx.AsyncClient) -> None:
        room = self.settings.max_concurrent - len(self._tasks)
        if room <= 0:
            return
        share = self.settings.max_concurrent_per_subscriber
        for delivery in self.outbox.due(self.clock(), self._busy):
            if room <= 0:
                break
            if self._in_flight.get(delivery.subscriber, 0) >= share:
                continue
            room -= 1
            self._busy.add(delivery.stream)
            self._in_flight[delivery.subscriber] = self._in_flight.get(delivery.subscriber, 0) + 1
            task = asyncio.create_task(self._deliver(client, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, client: httpx.AsyncClient, delivery: Delivery) -> str | None:
        """One attempt under one total deadline; the error text, or None when the receiver took the message."""
        # A delivery stored for a subscriber since removed from the config still goes out, signed as hazwatch.
        subscriber = self._by_name.get(delivery.subscriber) or Subscriber(name=delivery.subscriber, url="")
        secret = self.secrets.get(subscriber.name, self.shared_secret)
        if subscriber.format == "hazwatch" and secret is None:
            return "subscriber no longer configured and no global secret is set"
        robot = self._robot_secrets.get(subscriber.name)
        url, body, headers = outgoing(subscriber, delivery.url, delivery.body, secret or b"", robot, delivery.event_id)
        try:
            # anyio's cancel scope: the cancellation httpx's connection pool is written for.
            with anyio.fail_after(self.settings.timeout):
                response = await client.post(url, content=body, headers=headers)
        except TimeoutError:
            return f"no complete answer within {self.settings.timeout:g} s"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        return refusal(subscriber, response)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        try:
            error = await self._post(client, delivery)
            if error is None:
                self.outbox.delivered(delivery.id)
                metrics.WEBHOOK_DELIVERIES.labels(delivery.subscriber, "delivered").inc()
            else:
                delay = retry_delay(
                    delivery.attempts, self.settings.backoff_initial, self.settings.backoff_max, self.rng
                )
                self.outbox.failed(delivery.id, self.clock() + int(delay * 1e9), error)
                metrics.WEBHOOK_DELIVERIES.labels(delivery.subscriber, "failed").inc()
                self._problems.warning(
                    f"deliver:{delivery.subscriber}",
                    "webhook to %s (%s) failed: %s; attempt %d, retrying in %.1f s",
                    delivery.subscriber,
                    redact(delivery.url),
                    error,
                    delivery.attempts + 1,
                    delay,
                )
            metrics.OUTBOX_PENDING.set(self.outbox.pending())
        finally:
            self._busy.discard(delivery.stream)
            self._in_flight[delivery.subscriber] -= 1
            self._wake.set()
