"""WeCom, DingTalk and Feishu robots: each gets the alarm with its response link, signed as its vendor documents;
answering the link stops the escalation and the audit trail says who answered and what was done."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter

import httpx
import pytest
from notify_harness import SECRET, running
from robot_receivers import DINGTALK_SECRET, FEISHU_SECRET, RobotReceivers

from collector.notify.payload import rfc3339
from collector.notify.webhooks import WebhookNotifier
from detectors.alarms.conditions import ConditionChange
from hazwatch.config.channels import RobotOptions
from hazwatch.config.notify import Escalation, Subscriber, WebhookSettings
from tests.support.respond_service import response_service
from tests.support.waiting import metric

pytestmark = pytest.mark.anyio
SITE, SENSOR, RULE = "hengda-chem", "R101-LEL", "threshold.high"
LINK = re.compile(r"\((http://127\.0\.0\.1:\d+/respond/[^)\s]+)\)")
TIME = re.compile(r"时间 time: (\S+)")


def lel(registry, level: int, value: float) -> ConditionChange:
    return ConditionChange(
        slot=registry.slot(SITE, SENSOR),
        rule=RULE,
        category="process",
        level=level,
        level_name={0: "normal", 1: "level1", 2: "level2"}[level],
        priority={0: "low", 1: "high", 2: "critical"}[level],
        value=value,
        limit={0: 25.0, 1: 25.0, 2: 50.0}[level],
        time_ns=time.time_ns(),
        message=f"LEL {value:g} %LEL",
    )


def robots(receivers: RobotReceivers, dingtalk_secret_env: str, escalation: Escalation | None) -> WebhookSettings:
    return WebhookSettings(
        subscribers=[
            Subscriber(name="wecom-shift", url=receivers.wecom_url, format="wecom", escalation=escalation),
            Subscriber(
                name="dingtalk-safety",
                url=receivers.dingtalk_url,
                format="dingtalk",
                robot=RobotOptions(secret_env=dingtalk_secret_env),
                escalation=escalation,
            ),
            Subscriber(
                name="feishu-bureau",
                url=receivers.feishu_url,
                format="feishu",
                robot=RobotOptions(secret_env="HAZWATCH_TEST_FEISHU_SECRET"),
                escalation=escalation,
            ),
        ],
        backoff_initial=0.05,
        backoff_max=0.3,
        timeout=2.0,
    )


def text_of(robot: str, body: dict) -> str:
    if robot == "wecom":
        return body["markdown"]["content"]
    if robot == "dingtalk":
        return body["markdown"]["title"] + "\n" + body["markdown"]["text"]
    post = body["content"]["post"]["zh_cn"]
    cells = [cell for row in post["content"] for cell in row]
    shown = [c.get("text", "") + (f" ({c['href']})" if "href" in c else "") for c in cells]
    return post["title"] + "\n" + "\n".join(shown)


async def test_wecom_dingtalk_and_feishu_get_the_signed_alarm_and_an_answer_from_its_link_stops_the_escalation(
    plant_registry, tmp_path, monkeypatch
):
    monkeypatch.setenv("HAZWATCH_TEST_DINGTALK_SECRET", DINGTALK_SECRET)
    monkeypatch.setenv("HAZWATCH_TEST_FEISHU_SECRET", FEISHU_SECRET)
    receivers = RobotReceivers()
    await receivers.up()
    escalation = Escalation(after_minutes=0.01)  # 0.6 s
    settings = robots(receivers, "HAZWATCH_TEST_DINGTALK_SECRET", escalation)
    async with response_service(plant_registry, tmp_path / "api") as svc:
        notifier = WebhookNotifier(settings, plant_registry, tmp_path, secret=SECRET, response_link=svc.links.link_for)
        svc.sinks.append(notifier.submit_events)  # answers reach the robots as events, as in the pipeline
        async with running(notifier):
            svc.apply(lel(plant_registry, 1, 40.0))
            first = {robot: (await receivers.wait_for(robot, 1))[0] for robot in ("wecom", "dingtalk", "feishu")}
            await receivers.wait_for("dingtalk", 2)  # unanswered: re-sent after 0.6 s
            link = LINK.search(text_of("dingtalk", first["dingtalk"])).group(1)
            async with httpx.AsyncClient() as client:
                answered_at = rfc3339(time.time_ns())
                answer = await client.post(
                    link, json={"answer": "handled", "user": "Zhang Wei (duty officer)", "measures": "N2 purge on R101"}
                )
                audit = (await client.get(f"{svc.url}/audit", headers=svc.api_headers)).json()["audit"]
            answered = len(receivers.messages)
            await asyncio.sleep(2.0)  # more than three escalation periods
            after = receivers.messages[answered:]

    await receivers.down()
    assert answer.status_code == 200, answer.text
    for robot, body in first.items():
        text = text_of(robot, body)
        assert "R101-LEL" in text and "40 %LEL" in text and "报警" in text, (robot, text)
        assert LINK.search(text), f"{robot} message carries no response link"
    assert not any(not m.accepted for m in receivers.messages), "every robot accepted every signature"
    said = [text_of(m.robot, m.body) for m in after]
    renotified_later = [t for t in said if "再次通知" in t and TIME.search(t).group(1) > answered_at]
    assert not renotified_later, "escalation went on after the answer"
    assert all(any("已应答" in text_of(m.robot, m.body) for m in after if m.robot == r) for r in first), said
    assert (audit[0]["user"], audit[0]["action"], audit[0]["detail"]["measures"]) == (
        "Zhang Wei (duty officer)",
        "respond",
        "N2 purge on R101",
    )


async def test_a_robot_that_refuses_the_signature_is_retried_not_counted_as_delivered(
    plant_registry, tmp_path, monkeypatch
):
    monkeypatch.setenv("HAZWATCH_TEST_DINGTALK_SECRET", "SECnot-the-robots-secret")
    monkeypatch.setenv("HAZWATCH_TEST_FEISHU_SECRET", FEISHU_SECRET)
    receivers = RobotReceivers()
    await receivers.up()
    settings = robots(receivers, "HAZWATCH_TEST_DINGTALK_SECRET", None)
    failed_before = metric("hazwatch_webhook_deliveries_total", subscriber="dingtalk-safety", outcome="failed")
    async with response_service(plant_registry, tmp_path / "api") as svc:
        notifier = WebhookNotifier(settings, plant_registry, tmp_path, secret=SECRET, response_link=svc.links.link_for)
        async with running(notifier):
            notifier.submit_events(svc.lifecycle.apply([lel(plant_registry, 1, 40.0)], time.time_ns()))
            await receivers.wait_for("feishu", 1)
            deadline = time.monotonic() + 5
            while len(receivers.of("dingtalk", accepted=False)) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            # Every stream's head, due or not: what is still waiting for delivery, by subscriber.
            pending = Counter(d.subscriber for d in notifier.outbox.due(2**62, busy_streams=set()))
    await receivers.down()
    assert len(receivers.of("dingtalk", accepted=False)) >= 3
    assert pending.get("dingtalk-safety") == 1 and "feishu-bureau" not in pending
    failed = metric("hazwatch_webhook_deliveries_total", subscriber="dingtalk-safety", outcome="failed")
    assert failed - failed_before >= 3
