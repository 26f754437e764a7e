"""The console's guard rails, against a real server: sign-in with a name and password from the users file, a
CSRF token on every action, limits on failed sign-ins, sessions that end, a strict content security policy, and
roles. No secret travels in a URL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from collector.console.users import Role, User, Users, hash_password
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.console import ConsoleSettings
from hazwatch.config.examples import MINE_EXAMPLE
from tests.support.alarm_server import FACE, RULE, SITE, RunningApi, running_api

PASSWORD = "control-room-7"
DIGEST = hash_password(PASSWORD)


@pytest.fixture(scope="module")
def registry() -> SensorRegistry:
    return SensorRegistry.from_config(load_config(MINE_EXAMPLE))


def _users() -> Users:
    return Users([User(name="li.wei", password_hash=DIGEST), User(name="duty", role=Role.VIEWER, password_hash=DIGEST)])


@pytest.fixture
def console(tmp_path, registry) -> Iterator[RunningApi]:
    with running_api(tmp_path, registry, "api-token-for-console-tests", _users()) as running:
        yield running


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _signed_in(base: str, user: str = "li.wei") -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=f"{base}/console", follow_redirects=True)
    token = _csrf(client.get("/login").text)
    page = client.post("/login", data={"user": user, "password": PASSWORD, "csrf": token})
    assert page.status_code == 200 and str(page.url).endswith("/alarms"), page.text[:300]
    return client, _csrf(page.text)


def _ack(client: httpx.Client, csrf: str | None) -> httpx.Response:
    form = {"target": "alarm", "site": SITE, "sensor": FACE, "rule": RULE, "action": "ack", "comment": "on it"}
    if csrf is not None:
        form["csrf"] = csrf
    return client.post("/act", data=form)


def test_an_action_without_the_session_csrf_token_changes_nothing(console: RunningApi) -> None:
    console.raise_methane(1, 1.2)
    client, csrf = _signed_in(console.url)
    assert _ack(client, None).status_code == 403
    assert _ack(client, "forged").status_code == 403
    assert console.lifecycle.active()[0].acknowledged is False
    done = _ack(client, csrf)
    assert done.status_code == 200 and "li.wei" in done.text
    assert console.lifecycle.active()[0].acknowledged is True
    (entry,) = [e for e in console.store.audit() if e.action == "ack"]
    assert entry.user == "li.wei" and entry.detail["comment"] == "on it"


def test_a_viewer_cannot_act_even_with_a_valid_form(console: RunningApi) -> None:
    console.raise_methane(1, 1.2)
    client, csrf = _signed_in(console.url, "duty")
    assert _ack(client, csrf).status_code == 403
    assert console.lifecycle.active()[0].acknowledged is False


def _try(client: httpx.Client, password: str, csrf: str | None) -> httpx.Response:
    """One sign-in attempt; each answer issues a fresh form token (taken from the page, as a browser would)."""
    form = {"user": "li.wei", "password": password} | ({"csrf": csrf} if csrf else {})
    return client.post("/login", data=form)


def test_sign_in_needs_the_login_form_token_and_the_right_password(console: RunningApi) -> None:
    client = httpx.Client(base_url=f"{console.url}/console")
    no_token = _try(client, PASSWORD, None)
    assert no_token.status_code == 403
    wrong = _try(client, "wrong-password", _csrf(no_token.text))
    assert wrong.status_code == 401
    assert client.get("/alarms").status_code == 303
    assert _try(client, PASSWORD, _csrf(wrong.text)).status_code == 303


def test_repeated_failed_sign_ins_are_refused_for_a_while_even_with_the_right_password(console: RunningApi) -> None:
    client = httpx.Client(base_url=f"{console.url}/console")
    page = client.get("/login")
    for _ in range(5):
        page = _try(client, "guess", _csrf(page.text))
        assert page.status_code == 401
    assert _try(client, PASSWORD, _csrf(page.text)).status_code == 429


def test_pages_carry_a_strict_content_security_policy_and_no_secret_in_any_url(console: RunningApi) -> None:
    client, _ = _signed_in(console.url)
    page = client.get("/alarms")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    session = next(c for c in client.cookies.jar if c.name == "hw_session")
    assert session.has_nonstandard_attr("HttpOnly") and session.value not in page.text
    assert all(session.value not in str(h.url) for h in page.history)


def test_the_bearer_token_api_stays_closed_to_a_console_session(console: RunningApi) -> None:
    client, _ = _signed_in(console.url)
    assert httpx.get(f"{console.url}/alarms", cookies=client.cookies).status_code == 401


def test_a_session_ends_after_its_idle_time(tmp_path, registry) -> None:
    settings = ConsoleSettings(session_idle_minutes=1 / 60)
    with running_api(tmp_path, registry, "api-token-for-console-tests", _users(), settings) as running:
        client, _ = _signed_in(running.url)
        time.sleep(1.5)
        expired = client.get("/alarms")
        assert str(expired.url).endswith("/login?why=expired")
        assert "sign in" in expired.text.lower()
        assert client.get("/events").status_code == 401
