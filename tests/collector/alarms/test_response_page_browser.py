"""The response page in a real headless browser on a phone-sized screen: it renders under its CSP, and answers."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from collector.notify.payload import PayloadBuilder
from detectors.alarms.conditions import ConditionChange
from hazwatch.events import AlarmState
from tests.support.respond_service import response_service

pytestmark = pytest.mark.anyio
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "images" / "response.png"
SITE, SENSOR, RULE = "hengda-chem", "R101-LEL", "threshold.high"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_shift_lead_answers_handled_from_a_phone_and_the_alarm_is_acknowledged_with_the_measures(
    plant_registry, tmp_path
):
    slot = plant_registry.slot(SITE, SENSOR)
    change = ConditionChange(
        slot, RULE, "process", 1, "level1", "high", 40.0, 25.0, time.time_ns(), "LEL 40 %LEL at R101 reactor"
    )
    async with response_service(plant_registry, tmp_path) as service:
        raised = service.apply(change)
        link = service.links.link_for(PayloadBuilder(plant_registry).build(raised[0]))
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = await browser.new_context(
                    viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="zh-CN", is_mobile=True
                )
                page = await context.new_page()
                console: list[str] = []
                page.on("console", lambda message: console.append(message.text))
                await page.goto(link)
                await page.fill("#user", "王磊 (值班长)")
                await page.check("input[value=handled]")
                await page.fill("#measures", "关闭R101进料阀,撤离周边人员,复测 8 %LEL")
                button_colour = await page.eval_on_selector(
                    "button", "b => getComputedStyle(b).backgroundColor"
                )
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SCREENSHOT), full_page=True)
                await page.click("button[type=submit]")
                notice = await page.text_content("#notice")
            finally:
                await browser.close()
        status = service.lifecycle.status(slot, RULE)

    assert button_colour == "rgb(11, 92, 173)", "the page's style was blocked: the CSP nonce does not match"
    assert not [line for line in console if "Content Security Policy" in line], console
    assert "已记录" in notice and "王磊 (值班长)" in notice
    assert status.state is AlarmState.ACKNOWLEDGED
    assert service.dispatched[-1].extra["response"]["measures"] == "关闭R101进料阀,撤离周边人员,复测 8 %LEL"
    assert SCREENSHOT.stat().st_size > 10_000
