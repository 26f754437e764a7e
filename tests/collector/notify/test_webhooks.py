"""Signed webhooks to real local receivers: order, signatures, filters, formats and call-and-response."""

from __future__ import annotations

import asyncio
import time

import pytest
from notify_harness import SECRET, Receiver, methane_change, running

from collector.notify.webhooks import WebhookNotifier
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config.notify import Escalation, Subscriber, SubscriberFilter, WebhookSettings
from hazwatch.events import Transition

pytestmark = pytest.mark.anyio
S = 1_000_000_000


def settings(*subscribers: Subscriber, backoff_max: float = 0.5) -> WebhookSettings:
    return WebhookSettings(subscribers=list(subscribers), backoff_initial=0.05, backoff_max=backoff_max, timeout=2.0)


async def test_face_methane_alarm_power_cut_and_clear_arrive_signed_in_order_within_a_second(
    receiver, mine_registry, tmp_path
):
    face = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    notifier = WebhookNotifier(
        settings(Subscriber(name="control-room", url=receiver.url())), mine_registry, tmp_path, secret=SECRET
    )
    lifecycle = AlarmLifecycle()
    async with running(notifier):
        submitted = []
        for i, (level, value) in enumerate([(1, 1.05), (2, 1.55), (0, 0.85)]):
            now = time.time_ns()
            notifier.submit_events(lifecycle.apply([methane_change(face, level, now, value)], now))
            submitted.append(time.monotonic())
            await receiver.wait_for(i + 1, timeout=2)

    got = receiver.payloads()
    assert [(p["transition"], p["level_name"], p["state"]) for p in got] == [
        ("raise", "alarm", "unacknowledged"),
        ("escalate", "power_cut", "unacknowledged"),
        ("clear", "power_cut", "latched"),
    ]
    assert all(d.signature_valid for d in receiver.received)
    assert all(d.received_at - t < 2.0 for d, t in zip(receiver.received, submitted, strict=True))
    first = got[0]
    assert (first["site"], first["area"], first["sensor"], first["kind"], first["unit"]) == (
        "xinyuan-mine",
        "lw1201",
        "LW-CH4-T1",
        "CH4",
        "%",
    )
    assert (first["value"], first["limit"], first["level"]) == (1.05, 1.0, 1)
    assert first["time"].endswith("Z") and len({p["event_id"] for p in got}) == 3


async def test_the_bureau_gets_only_power_cut_episodes_while_operators_get_everything(mine_registry, tmp_path):
    operators, bureau = Receiver(), Receiver()
    await operators.up()
    await bureau.up()
    face = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    corner = mine_registry.slot("xinyuan-mine", "LW-CH4-T0")
    notifier = WebhookNotifier(
        settings(
            Subscriber(name="control-room", url=operators.url()),
            Subscriber(name="safety-bureau", url=bureau.url(), filter=SubscriberFilter(min_level=2)),
        ),
        mine_registry,
        tmp_path,
        secret=SECRET,
    )
    lifecycle = AlarmLifecycle()
    t = time.time_ns()
    changes = [
        methane_change(corner, 1, t, 1.1),  # an alarm, never a power-cut: not the bureau's business
        methane_change(corner, 0, t + 1 * S, 0.9),
        methane_change(face, 1, t + 2 * S, 1.1),
        methane_change(face, 2, t + 3 * S, 1.6),
        methane_change(face, 0, t + 4 * S, 0.8),
    ]
    async with running(notifier):
        notifier.submit_events(lifecycle.apply(changes, t + 4 * S))
        notifier.submit_events(lifecycle.reset(face, "threshold.high", "shift-boss", t + 5 * S))
        await operators.wait_for(6)
        await bureau.wait_for(3)
        await asyncio.sleep(0.3)
    await operators.down()
    await bureau.down()

    def of(sensor: str) -> list[str]:
        return [p["transition"] for p in operators.payloads() if p["sensor"] == sensor]

    assert of("LW-CH4-T0") == ["raise", "clear"]
    assert of("LW-CH4-T1") == ["raise", "escalate", "clear", "reset"]
    assert [(p["sensor"], p["transition"]) for p in bureau.payloads()] == [
        ("LW-CH4-T1", "escalate"),
        ("LW-CH4-T1", "clear"),
        ("LW-CH4-T1", "reset"),
    ]


async def test_an_unacknowledged_alarm_is_renotified_and_escalated_along_the_chain_until_acknowledged(
    receiver, mine_registry, tmp_path
):
    face = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    chain = [receiver.url("/deputy"), receiver.url("/manager")]
    notifier = WebhookNotifier(
        settings(
            Subscriber(
                name="control-room",
                url=receiver.url("/operator"),
                escalation=Escalation(after_minutes=0.01, chain=chain),  # 0.6 s
            )
        ),
        mine_registry,
        tmp_path,
        secret=SECRET,
    )
    lifecycle = AlarmLifecycle()
    t = time.time_ns()
    async with running(notifier):
        notifier.submit_events(lifecycle.apply([methane_change(face, 1, t, 1.1)], t))
        await receiver.wait_for(1, path="/deputy", timeout=3)
        await receiver.wait_for(1, path="/manager", timeout=3)
        notifier.submit_events(lifecycle.acknowledge(face, "threshold.high", "op", time.time_ns()))
        await asyncio.sleep(0.1)
        count = len(receiver.received)
        await asyncio.sleep(1.5)  # more than two escalation periods: nothing more once acknowledged
        after_ack = receiver.received[count:]

    raise_event = receiver.payloads("/operator")[0]
    deputy, manager = receiver.payloads("/deputy")[0], receiver.payloads("/manager")[0]
    assert raise_event["transition"] == "raise"
    assert (deputy["transition"], deputy["extra"]["escalation_step"]) == ("renotify", 1)
    assert (manager["transition"], manager["extra"]["escalation_step"]) == ("renotify", 2)
    assert deputy["extra"]["original_event_id"] == raise_event["event_id"] != deputy["event_id"]
    renotified = [p for p in receiver.payloads("/operator") if p["transition"] == "renotify"]
    assert [p["extra"]["escalation_step"] for p in renotified][:2] == [1, 2]
    assert [p["transition"] for p in after_ack if isinstance(p.payload, dict)] in ([], ["ack"])
    assert all(d.signature_valid for d in receiver.received)


async def test_suppressed_events_are_not_sent(receiver, mine_registry, tmp_path):
    face = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    notifier = WebhookNotifier(
        settings(Subscriber(name="control-room", url=receiver.url())), mine_registry, tmp_path, secret=SECRET
    )
    lifecycle = AlarmLifecycle()
    t = time.time_ns()
    async with running(notifier):
        notifier.submit_events(lifecycle.set_out_of_service(face, "tech", t))
        notifier.submit_events(lifecycle.apply([methane_change(face, 1, t + 1, 2.0)], t + 1))
        await receiver.wait_for(1)
        await asyncio.sleep(0.4)

    assert [p["transition"] for p in receiver.payloads()] == [Transition.OUT_OF_SERVICE.value]
