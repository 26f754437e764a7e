"""A slow or hostile webhook receiver delays only itself: one total deadline per delivery attempt, a bounded
share of the delivery slots per subscriber, and each subscriber's own signing secret."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest
from notify_harness import SECRET, Receiver, methane_change, running

from collector.app.localservices import free_port
from collector.notify.signing import MissingSecret, verify
from collector.notify.webhooks import WebhookNotifier
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config.notify import Subscriber, WebhookSettings
from tests.support.waiting import metric

pytestmark = pytest.mark.anyio

ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass
class TricklingReceiver:
    """A real TCP server that reads each request, then answers one byte every `every` seconds: each read
    returns in time, so a per-read timeout never fires, but the whole answer takes minutes."""

    every: float
    port: int = field(default_factory=free_port)
    started: list[float] = field(default_factory=list)
    _server: asyncio.Server | None = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.started.append(time.monotonic())
        try:
            await reader.readuntil(b"\r\n\r\n")
            for byte in ANSWER:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.every)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the sender gave up on us: what the deadline is for
        finally:
            writer.close()


async def test_a_receiver_trickling_its_answer_delays_no_event_to_another_subscriber_by_more_than_a_second(
    mine_registry, tmp_path
):
    healthy, slow = Receiver(), TricklingReceiver(every=1.0)
    await healthy.up()
    await slow.up()
    settings = WebhookSettings(
        subscribers=[Subscriber(name="slow", url=slow.url()), Subscriber(name="healthy", url=healthy.url())],
        backoff_initial=0.05,
        backoff_max=0.5,
    )
    assert (settings.timeout, settings.max_concurrent, settings.max_concurrent_per_subscriber) == (5.0, 16, 4)
    notifier = WebhookNotifier(settings, mine_registry, tmp_path, secret=SECRET)
    lifecycle = AlarmLifecycle()
    sensors = len(mine_registry)
    submitted: dict[str, float] = {}
    try:
        async with running(notifier):
            for i in range(20):  # 20 sensors alarm 0.3 s apart: 20 streams to each receiver, as in the field
                now = time.time_ns()
                events = lifecycle.apply([methane_change(i % sensors, 1, now, 1.2)], now)
                for event in events:
                    submitted[event.event_id] = time.monotonic()
                notifier.submit_events(events)
                await asyncio.sleep(0.3)
            await healthy.wait_for(len(submitted), timeout=15)
    finally:
        await healthy.down()
        await slow.down()

    delays = {d.payload["event_id"]: d.received_at - submitted[d.payload["event_id"]] for d in healthy.received}
    assert set(delays) == set(submitted)
    assert max(delays.values()) < 2.0, f"worst delay to the healthy subscriber {max(delays.values()):.2f} s"
    first = slow.started[0]
    before_any_deadline = [t for t in slow.started if t - first < settings.timeout - 0.5]
    assert len(before_any_deadline) == settings.max_concurrent_per_subscriber, "the slow one held only its share"


async def test_a_trickling_answer_is_abandoned_at_the_total_deadline_and_retried(mine_registry, tmp_path):
    slow = TricklingReceiver(every=0.5)  # the whole answer would take 30 s
    await slow.up()
    settings = WebhookSettings(
        subscribers=[Subscriber(name="trickle", url=slow.url())], timeout=1.5, backoff_initial=0.05, backoff_max=0.2
    )
    notifier = WebhookNotifier(settings, mine_registry, tmp_path, secret=SECRET)
    before = metric("hazwatch_webhook_deliveries_total", subscriber="trickle", outcome="failed")
    try:
        async with running(notifier):
            now = time.time_ns()
            notifier.submit_events(AlarmLifecycle().apply([methane_change(0, 1, now, 1.2)], now))
            started = time.monotonic()
            while len(slow.started) < 2 and time.monotonic() - started < 10:
                await asyncio.sleep(0.05)
            pending = notifier.outbox.pending()
    finally:
        await slow.down()
    assert len(slow.started) >= 2, "the delivery was retried after the deadline"
    held = slow.started[1] - slow.started[0]
    assert held < settings.timeout + 1.0, f"the first attempt held its slot {held:.1f} s"
    assert metric("hazwatch_webhook_deliveries_total", subscriber="trickle", outcome="failed") > before
    assert pending == 1, "kept in the outbox until a receiver answers, never dropped"


async def test_each_subscriber_is_signed_with_its_own_secret_so_none_can_forge_alarms_to_another(
    mine_registry, tmp_path, monkeypatch
):
    monkeypatch.setenv("HAZWATCH_WEBHOOK_SECRET", "shared-secret-of-the-old-days")
    monkeypatch.setenv("CONTROL_ROOM_SECRET", "control-room-own-secret-5d1f")
    bureau_file = tmp_path / "bureau-secret"
    bureau_file.write_text("bureau-own-secret-from-a-file-77\n")
    bureau_file.chmod(0o600)
    control = Receiver(secret=b"control-room-own-secret-5d1f")
    bureau = Receiver(secret=b"bureau-own-secret-from-a-file-77")
    contractor = Receiver(secret=b"shared-secret-of-the-old-days")
    for r in (control, bureau, contractor):
        await r.up()
    settings = WebhookSettings(
        subscribers=[
            Subscriber(name="control-room", url=control.url(), secret_env="CONTROL_ROOM_SECRET"),
            Subscriber(name="bureau", url=bureau.url(), secret_file=str(bureau_file)),
            Subscriber(name="contractor", url=contractor.url()),
        ]
    )
    notifier = WebhookNotifier(settings, mine_registry, tmp_path)
    try:
        async with running(notifier):
            now = time.time_ns()
            notifier.submit_events(AlarmLifecycle().apply([methane_change(0, 1, now, 1.2)], now))
            for r in (control, bureau, contractor):
                await r.wait_for(1, timeout=5)
    finally:
        for r in (control, bureau, contractor):
            await r.down()
    receivers = (control, bureau, contractor)
    assert all(r.received[0].signature_valid for r in receivers)
    for r in receivers:
        got = r.received[0]
        for other in receivers:
            if other is not r:
                assert not verify(other.secret, got.timestamp, got.signature, got.body), (
                    f"{r.port}'s delivery verifies with another subscriber's secret"
                )


def test_a_subscriber_naming_its_own_secret_that_is_not_set_is_refused(mine_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("HAZWATCH_WEBHOOK_SECRET", "shared-secret-of-the-old-days")
    monkeypatch.delenv("BUREAU_SECRET", raising=False)
    bureau = Subscriber(name="bureau", url="http://127.0.0.1:9/", secret_env="BUREAU_SECRET")
    settings = WebhookSettings(subscribers=[bureau])
    with pytest.raises(MissingSecret, match="bureau"):
        WebhookNotifier(settings, mine_registry, tmp_path)
