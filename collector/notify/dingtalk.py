"""DingTalk (钉钉) custom robot: `POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN`.

With the robot's 'sign' security setting, each request carries `timestamp` (Unix milliseconds, within
one hour of DingTalk's clock) and `sign` = URL-encoded Base64 of HMAC-SHA256(secret, timestamp + "\\n" +
secret) as query parameters. They are added at send time, so a message retried after an outage is
signed afresh. The robot answers HTTP 200 with `{"errcode": 0}`, non-zero when it refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

import httpx

from collector.notify.robot_text import markdown, message_for


def dingtalk_body(payload: dict[str, object]) -> dict[str, object]:
    message = message_for(payload)
    return {"msgtype": "markdown", "markdown": {"title": message.title, "text": markdown(message)}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """Base64 of the HMAC, not yet URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    signed = httpx.URL(url).copy_merge_params({"timestamp": str(timestamp_ms)})
    return f"{signed}&sign={quote_plus(dingtalk_sign(secret, timestamp_ms))}"
