"""The alarm console in a real headless Chromium against a running `hazwatch demo` (the simulated mine over
Modbus): the face methane alarm appears within a second of its reading, an operator acknowledges it from the
page, a second operator's open page follows without a reload, and the audit trail names who did it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from collector.app.localservices import free_port
from collector.console.users import hash_password
from tests.support.browser import chromium

PASSWORD = "night-shift-2026"
FACE = 'tr[data-key="xinyuan-mine/LW-CH4-T1/threshold.high"]'
IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"


@pytest.fixture(scope="module")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("console")
    digest = hash_password(PASSWORD)
    users = workdir / "users.yaml"
    users.write_text(
        "users:\n"
        + "".join(f'  - name: {name}\n    password_hash: "{digest}"\n' for name in ("li.wei", "zhang.min"))
        + f'  - name: bureau.duty\n    role: viewer\n    password_hash: "{digest}"\n'
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "HAZWATCH_API_TOKEN"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "collector", "demo", "--duration", "120", "--no-view", "--api-port", str(port),
         "--users", str(users)],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}/console"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert demo.poll() is None and time.monotonic() < deadline, "the demo did not serve the console"
        time.sleep(0.2)
    try:
        yield url
    finally:
        demo.terminate()
        demo.wait(timeout=60)


def _sign_in(page, url: str, user: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/alarms")


def test_an_operator_acknowledges_the_face_methane_alarm_and_a_second_screen_follows_live(console_url: str) -> None:
    with chromium() as browser:
        first = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB").new_page()
        second = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN").new_page()
        _sign_in(first, console_url, "li.wei")
        _sign_in(second, console_url, "zhang.min")
        second.evaluate("window.loadedOnce = true")

        row = first.wait_for_selector(FACE, timeout=90_000)
        seen_s = time.time()
        reading_s = int(row.get_attribute("data-raised-ns")) / 1e9
        assert seen_s - reading_s < 2.0, f"the alarm reached the page {seen_s - reading_s:.2f} s after its reading"
        assert row.get_attribute("data-state") == "unacknowledged"
        assert "st-unacknowledged" in row.get_attribute("class")
        IMAGES.mkdir(parents=True, exist_ok=True)
        first.screenshot(path=str(IMAGES / "console.png"), full_page=True)

        first.fill(f"{FACE} form:has(button.btn-ack) input[name=comment]", "crew withdrawn, checking the fan")
        first.click(f"{FACE} button.btn-ack")
        first.wait_for_selector(f'{FACE}[data-state="acknowledged"], {FACE}[data-state="latched"]')
        assert first.text_content(f"{FACE} .acked-by").strip() == "li.wei"

        second.wait_for_selector(f'{FACE}[data-state="acknowledged"], {FACE}[data-state="latched"]', timeout=5_000)
        assert second.text_content(f"{FACE} .acked-by").strip() == "li.wei"
        assert second.evaluate("window.loadedOnce") is True, "the second screen reloaded instead of updating live"
        assert "已确认" in second.text_content(FACE) or "已闭锁" in second.text_content(FACE)

        first.goto(f"{console_url}/history")
        audit = first.locator("table.audit tr", has_text="crew withdrawn")
        assert audit.locator(".audit-user").text_content() == "li.wei"
        assert audit.locator(".audit-action").text_content() == "ack"


def test_a_viewer_sees_the_alarms_but_has_no_buttons(console_url: str) -> None:
    with chromium() as browser:
        page = browser.new_page()
        _sign_in(page, console_url, "bureau.duty")
        assert page.locator("button.btn-ack").count() == 0
        assert "view alarms but not act" in page.text_content("main")
