"""hazwatch feeding a real Alertmanager: a standing alarm never reads as resolved, an escalation stays one alert."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest
from alertmanager_harness import PASSWORD, USER, local_alertmanager
from notify_harness import Receiver, methane_change

from collector.notify.alertmanager import AlertmanagerFeed
from collector.notify.payload import parse_rfc3339
from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config.channels import AlertmanagerOptions
from hazwatch.config.notify import Subscriber, WebhookSettings
from tests.support.respond_service import response_service
from tests.support.waiting import metric

pytestmark = pytest.mark.anyio
REPOST_S = 1.0
RESOLVE_TIMEOUT_S = 3.0


def lel_change(slot: int, level: int, value: float) -> ConditionChange:
    names = {0: "normal", 1: "level1", 2: "level2"}
    return ConditionChange(
        slot=slot,
        rule="threshold.high",
        category="process",
        level=level,
        level_name=names[level],
        priority={0: "low", 1: "high", 2: "critical"}[level],
        value=value,
        limit={0: 25.0, 1: 25.0, 2: 50.0}[level],
        time_ns=time.time_ns(),
        message=f"LEL {value:g} %LEL",
    )


@contextlib.asynccontextmanager
async def feeding(feed: AlertmanagerFeed):
    task = asyncio.create_task(feed.run())
    try:
        yield feed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def am_subscriber(url: str, **options: object) -> WebhookSettings:
    subscriber = Subscriber(
        name="alertmanager",
        url=f"{url}/api/v2/alerts",
        format="alertmanager",
        alertmanager=AlertmanagerOptions(repost_seconds=REPOST_S, ends_after_reposts=3, **options),
    )
    return WebhookSettings(subscribers=[subscriber], timeout=2.0)


def notified_alerts(receiver: Receiver) -> list[tuple[float, dict]]:
    """Every alert of every notification Alertmanager sent its webhook receiver, with the arrival time."""
    return [(d.received_at, alert) for d in receiver.received for alert in d.payload["alerts"]]


async def test_a_40_percent_lel_alarm_stays_firing_past_resolve_timeout_escalates_in_place_and_resolves_on_clear(
    plant_registry, monkeypatch
):
    monkeypatch.setenv("HAZWATCH_TEST_AM_PASSWORD", PASSWORD)
    receiver = Receiver(signed=False)
    await receiver.up()
    slot = plant_registry.slot("hengda-chem", "R101-LEL")
    lifecycle = AlarmLifecycle()
    with local_alertmanager(receiver.url("/am"), resolve_timeout=f"{RESOLVE_TIMEOUT_S:g}s") as am:
        settings = am_subscriber(am.url, username=USER, password_env="HAZWATCH_TEST_AM_PASSWORD")
        feed = AlertmanagerFeed(settings, plant_registry, lifecycle.active)
        async with feeding(feed):
            feed.submit_events(lifecycle.apply([lel_change(slot, 1, 40.0)], time.time_ns()))
            held_until = time.monotonic() + RESOLVE_TIMEOUT_S * 1.6
            seen = False
            while time.monotonic() < held_until:  # the old flaw: resolved once resolve_timeout passed
                states = [a["status"]["state"] for a in await asyncio.to_thread(am.alerts)]
                seen = seen or bool(states)
                assert states in (([] if not seen else None), ["unprocessed"], ["active"]), states  # never gone
                await asyncio.sleep(0.25)
            assert [a["status"]["state"] for a in await asyncio.to_thread(am.alerts)] == ["active"]

            feed.submit_events(lifecycle.apply([lel_change(slot, 2, 56.0)], time.time_ns()))
            escalated = time.monotonic()
            await wait_for(lambda: "critical" in {a["annotations"]["severity"] for _, a in notified_alerts(receiver)})
            feed.submit_events(lifecycle.apply([lel_change(slot, 0, 12.0)], time.time_ns()))
            cleared = time.monotonic()
            while await asyncio.to_thread(am.alerts):
                assert time.monotonic() - cleared < REPOST_S, "the clear did not resolve the alert within one re-post"
                await asyncio.sleep(0.02)
            await wait_for(lambda: any(a["status"] == "resolved" for _, a in notified_alerts(receiver)))
    await receiver.down()

    alerts = notified_alerts(receiver)
    assert len({a["fingerprint"] for _, a in alerts}) == 1, "an escalation must not start a second alert"
    assert all(a["status"] == "firing" for at, a in alerts if at < cleared)
    severities = [a["annotations"]["severity"] for _, a in alerts if a["status"] == "firing"]
    assert severities[0] == "warning" and severities[-1] == "critical"
    assert all(a["annotations"]["severity"] == "warning" for at, a in alerts if at < escalated)
    first = alerts[0][1]
    assert first["labels"] == {
        "alertname": "threshold.high",
        "site": "hengda-chem",
        "area": "r101",
        "sensor": "R101-LEL",
        "rule": "threshold.high",
        "kind": "LEL",
        "category": "process",
    }
    assert (first["annotations"]["value"], first["annotations"]["unit"], first["annotations"]["level"]) == (
        "40",
        "%LEL",
        "1",
    )
    assert first["annotations"]["state"] == "unacknowledged"


async def test_alertmanager_refuses_a_wrong_password_and_the_feed_keeps_trying_until_it_is_let_in(
    plant_registry, monkeypatch
):
    receiver = Receiver(signed=False)
    await receiver.up()
    slot = plant_registry.slot("hengda-chem", "R101-LEL")
    lifecycle = AlarmLifecycle()
    monkeypatch.setenv("HAZWATCH_TEST_AM_PASSWORD", "not-the-password")
    failed_before = metric("hazwatch_webhook_deliveries_total", subscriber="alertmanager", outcome="failed")
    with local_alertmanager(receiver.url("/am")) as am:
        settings = am_subscriber(am.url, username=USER, password_env="HAZWATCH_TEST_AM_PASSWORD")
        feed = AlertmanagerFeed(settings, plant_registry, lifecycle.active)
        async with feeding(feed):
            feed.submit_events(lifecycle.apply([lel_change(slot, 1, 40.0)], time.time_ns()))
            await asyncio.sleep(1.5)
            refused = await asyncio.to_thread(am.alerts)
        failed = metric("hazwatch_webhook_deliveries_total", subscriber="alertmanager", outcome="failed")
        monkeypatch.setenv("HAZWATCH_TEST_AM_PASSWORD", PASSWORD)  # the operator fixes the secret and restarts
        async with feeding(AlertmanagerFeed(settings, plant_registry, lifecycle.active)):
            await wait_for(lambda: bool(am.alerts()), timeout=5)
    await receiver.down()
    assert refused == []
    assert failed - failed_before >= 2, "a refused post is counted and tried again"


async def test_a_bearer_token_is_sent_for_an_authenticating_proxy_in_front_of_alertmanager(
    receiver, plant_registry, monkeypatch
):
    monkeypatch.setenv("HAZWATCH_TEST_AM_TOKEN", "proxy-token")
    receiver.signed = False
    lifecycle = AlarmLifecycle()
    slot = plant_registry.slot("hengda-chem", "R101-LEL")
    feed = AlertmanagerFeed(
        am_subscriber(receiver.url("").rstrip("/"), bearer_token_env="HAZWATCH_TEST_AM_TOKEN"),
        plant_registry,
        lifecycle.active,
    )
    async with feeding(feed):
        feed.submit_events(lifecycle.apply([lel_change(slot, 1, 40.0)], time.time_ns()))
        await receiver.wait_for(1)
    first = receiver.received[0]
    assert (first.path, first.headers["Authorization"]) == ("/api/v2/alerts", "Bearer proxy-token")
    assert first.payload[0]["labels"]["sensor"] == "R101-LEL"


async def test_a_latched_methane_power_cut_stays_firing_after_its_clear_until_it_is_reset(
    receiver, mine_registry
):
    receiver.signed = False
    face = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    lifecycle = AlarmLifecycle()
    feed = AlertmanagerFeed(am_subscriber(receiver.url("").rstrip("/")), mine_registry, lifecycle.active)
    async with feeding(feed):
        feed.submit_events(lifecycle.apply([methane_change(face, 2, time.time_ns(), 1.6)], time.time_ns()))
        await receiver.wait_for(1)
        feed.submit_events(lifecycle.apply([methane_change(face, 0, time.time_ns(), 0.4)], time.time_ns()))
        await asyncio.sleep(REPOST_S * 1.5)  # at least one re-post of the latched alarm
        latched_posts = len(receiver.received)
        reset_at = time.time_ns()
        feed.submit_events(lifecycle.reset(face, "threshold.high", "shift-boss", reset_at))
        await receiver.wait_for(latched_posts + 1)

    alerts = [(d.received_at, a) for d in receiver.received for a in d.payload]
    before_reset, last = alerts[: latched_posts], alerts[-1][1]
    assert {a["annotations"]["state"] for _, a in before_reset} == {"unacknowledged", "latched"}
    assert all(parse_rfc3339(a["endsAt"]) > reset_at for _, a in before_reset), "a latched alarm read as ended"
    assert parse_rfc3339(last["endsAt"]) <= time.time_ns() and last["labels"] == before_reset[0][1]["labels"]


async def test_an_unacknowledged_alert_carries_a_response_link_and_answering_it_acknowledges_in_alertmanager_too(
    receiver, plant_registry, tmp_path
):
    receiver.signed = False
    async with response_service(plant_registry, tmp_path) as service:
        feed = AlertmanagerFeed(
            am_subscriber(receiver.url("").rstrip("/")), plant_registry, service.lifecycle.active,
            response_link=service.links.url_for,
        )  # fmt: skip
        service.sinks.append(feed.submit_events)
        async with feeding(feed):
            service.apply(lel_change(plant_registry.slot("hengda-chem", "R101-LEL"), 1, 40.0))
            first = (await receiver.wait_for(1))[0][0]
            async with httpx.AsyncClient() as client:
                answer = await client.post(first["annotations"]["response_url"], json={"answer": "ack", "user": "Li"})
            await wait_for(lambda: receiver.payloads()[-1][0]["annotations"]["state"] == "acknowledged")

    assert answer.status_code == 200, answer.text
    last = receiver.payloads()[-1][0]
    assert "response_url" not in last["annotations"] and last["labels"] == first["labels"]


async def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)
