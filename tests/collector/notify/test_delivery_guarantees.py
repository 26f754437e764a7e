"""At-least-once delivery: a receiver outage or a hazwatch restart loses nothing and keeps each sensor's order."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest
from notify_harness import SECRET, Receiver, methane_change, running

from collector.notify.outbox import Outbox
from collector.notify.webhooks import OUTBOX_FILE, WebhookNotifier
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config.notify import Escalation, Subscriber, WebhookSettings
from hazwatch.events import AlarmEvent

pytestmark = pytest.mark.anyio
SENSORS = ("LW-CH4-T0", "LW-CH4-T1", "HD-CH4-T1", "LW-CO-T0")


def settings(url: str) -> WebhookSettings:
    return WebhookSettings(
        subscribers=[Subscriber(name="control-room", url=url)], backoff_initial=0.05, backoff_max=1.0, timeout=1.0
    )


def flip_flop(lifecycle: AlarmLifecycle, slots: list[int], level: int) -> list[AlarmEvent]:
    now = time.time_ns()
    return lifecycle.apply([methane_change(slot, level, now, 1.2 if level else 0.8) for slot in slots], now)


def assert_complete_and_in_order(receiver: Receiver, sent: list[AlarmEvent]) -> None:
    sent_order = {e.event_id: i for i, e in enumerate(sent)}
    received = receiver.payloads()
    assert {p["event_id"] for p in received} == set(sent_order), "an event was lost (or invented)"
    by_sensor: dict[str, list[int]] = defaultdict(list)
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for delivery in receiver.received:
        by_sensor[delivery.payload["sensor"]].append(sent_order[delivery.payload["event_id"]])
        bodies[delivery.payload["event_id"]].add(delivery.body)
    for sensor, order in by_sensor.items():
        assert order == sorted(order), f"{sensor}: events arrived out of order {order}"
    assert all(len(b) == 1 for b in bodies.values()), "a re-sent event differs from the first send"
    assert all(d.signature_valid for d in receiver.received)


async def test_receiver_down_for_30_s_then_up_gets_every_event_in_order_with_duplicates_sharing_their_id(
    mine_registry, tmp_path
):
    receiver = Receiver(fail_after_recording=3)  # its first answers after the outage are lost: duplicates
    slots = [mine_registry.slot("xinyuan-mine", s) for s in SENSORS]
    notifier = WebhookNotifier(settings(receiver.url()), mine_registry, tmp_path, secret=SECRET)
    lifecycle = AlarmLifecycle(chatter_count=1000)  # every flip is an annunciated event here
    sent: list[AlarmEvent] = []
    async with running(notifier):
        started = time.monotonic()
        level = 1
        while time.monotonic() - started < 30:
            events = flip_flop(lifecycle, slots, level)
            notifier.submit_events(events)
            sent += events
            level = 1 - level
            await asyncio.sleep(2.5)
        assert receiver.received == []
        await receiver.up()
        await receiver.wait_for(len(sent) + 3, timeout=8)
        await asyncio.sleep(0.3)
        assert notifier.outbox.pending() == 0
    await receiver.down()

    assert len(sent) >= 40
    assert_complete_and_in_order(receiver, sent)
    ids = [p["event_id"] for p in receiver.payloads()]
    assert len(ids) - len(set(ids)) == 3, "each lost answer leads to exactly one duplicate with the same event_id"


async def test_deliveries_pending_at_shutdown_are_delivered_after_a_restart(mine_registry, tmp_path):
    receiver = Receiver()
    slots = [mine_registry.slot("xinyuan-mine", s) for s in SENSORS]
    lifecycle = AlarmLifecycle(chatter_count=1000)
    sent: list[AlarmEvent] = []

    first = WebhookNotifier(settings(receiver.url()), mine_registry, tmp_path, secret=SECRET)
    async with running(first):
        for level in (1, 0, 1):
            events = flip_flop(lifecycle, slots, level)
            first.submit_events(events)
            sent += events
        await asyncio.sleep(0.5)  # a few failed attempts against the dead receiver
    assert Outbox(tmp_path / OUTBOX_FILE).pending() == len(sent)

    await receiver.up()
    second = WebhookNotifier(settings(receiver.url()), mine_registry, tmp_path, secret=SECRET)
    async with running(second):
        await receiver.wait_for(len(sent), timeout=5)
        await asyncio.sleep(0.2)
        assert second.outbox.pending() == 0
    await receiver.down()

    assert_complete_and_in_order(receiver, sent)
    assert len(receiver.received) == len(sent)


async def test_a_restart_neither_forgets_an_unanswered_alarm_nor_restarts_its_escalation_clock(mine_registry, tmp_path):
    """Escalation is due 3 s after the first page; the notifier restarts 2 s in. A kept clock escalates about
    1 s after the restart, a restarted one 3 s after it."""
    receiver = Receiver()
    await receiver.up()
    config = WebhookSettings(
        subscribers=[
            Subscriber(
                name="control-room",
                url=receiver.url("/operator"),
                escalation=Escalation(after_minutes=0.05, chain=[receiver.url("/deputy")]),  # 3 s
            )
        ],
        backoff_initial=0.05,
        backoff_max=0.5,
    )
    face = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    lifecycle = AlarmLifecycle()
    first = WebhookNotifier(config, mine_registry, tmp_path, secret=SECRET)
    async with running(first):
        raised = time.monotonic()
        first.submit_events(flip_flop(lifecycle, [face], 1))
        await receiver.wait_for(1, path="/operator")
        await asyncio.sleep(2.0)
    second = WebhookNotifier(config, mine_registry, tmp_path, secret=SECRET)
    started = time.monotonic()
    async with running(second):
        await receiver.wait_for(1, path="/deputy", timeout=6)
    await receiver.down()

    (escalated,) = [d.received_at for d in receiver.received if d.path == "/deputy"][:1]
    assert escalated - raised >= 2.9, f"escalated {escalated - raised:.1f} s after the alarm, before it was due"
    assert escalated - started < 2.5, f"escalated {escalated - started:.1f} s after the restart: its clock restarted"
    assert receiver.payloads("/deputy")[0]["extra"]["escalation_step"] == 1
