"""Subscriber formats: what goes into the outbox for each `format:`, and what goes on the wire at send time.

The outbox stores a format's body once (so a retry re-sends the same message); anything that depends
on the moment of sending (hazwatch's signature headers, the robots' timestamp + sign) is added by
`outgoing` on every attempt. Robots answer HTTP 200 even when they refuse a message, so `refusal`
reads their answer: a refused alarm is retried, never counted as delivered.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from collector.notify.dingtalk import dingtalk_body, dingtalk_url
from collector.notify.feishu import feishu_body, feishu_sign
from collector.notify.payload import encode
from collector.notify.signing import MissingSecret, signed_headers
from collector.notify.wecom import wecom_body
from hazwatch.config.notify import ROBOT_FORMATS, Subscriber

_BODIES: dict[str, Callable[[dict[str, object]], object]] = {
    "wecom": wecom_body,
    "dingtalk": dingtalk_body,
    "feishu": feishu_body,
}


def through_outbox(subscriber: Subscriber) -> bool:
    """Alertmanager is fed standing state by collector/notify/alertmanager.py, not events through the outbox."""
    return subscriber.format != "alertmanager"


def body_for(subscriber: Subscriber, payload: dict[str, object]) -> bytes:
    make = _BODIES.get(subscriber.format)
    return encode(payload if make is None else make(payload))


def robot_secret(subscriber: Subscriber) -> str | None:
    """The DingTalk / Feishu sign secret; None when the robot is not set to sign (keywords or IP list instead)."""
    options = subscriber.robot
    if options.secret_env is None and options.secret_file is None:
        return None
    value = os.environ.get(options.secret_env, "") if options.secret_env else ""
    if not value and options.secret_file:
        value = Path(options.secret_file).read_text().strip()
    if not value:
        raise MissingSecret(f"subscriber {subscriber.name}: set {options.secret_env or 'robot.secret_file'}")
    return value


def outgoing(
    subscriber: Subscriber,
    url: str,
    body: bytes,
    secret: bytes,
    robot_secret_value: str | None,
    event_id: str,
    now: float | None = None,
) -> tuple[str, bytes, dict[str, str]]:
    """URL, body and headers of one attempt."""
    moment = time.time() if now is None else now
    if subscriber.format not in ROBOT_FORMATS:
        return url, body, signed_headers(secret, body, event_id, int(moment))
    headers = {"Content-Type": "application/json"}
    if robot_secret_value is None:
        return url, body, headers
    if subscriber.format == "dingtalk":
        return dingtalk_url(url, robot_secret_value, int(moment * 1000)), body, headers
    if subscriber.format == "feishu":
        stamp = int(moment)
        signed = {"timestamp": str(stamp), "sign": feishu_sign(robot_secret_value, stamp), **json.loads(body)}
        return url, encode(signed), headers
    return url, body, headers


def refusal(subscriber: Subscriber, response: httpx.Response) -> str | None:
    """Why the receiver did not take the message, or None when it did."""
    if not response.is_success:
        return f"HTTP {response.status_code}"
    if subscriber.format not in ROBOT_FORMATS:
        return None
    try:
        answer = response.json()
    except ValueError:
        return f"robot answered something that is not JSON: {response.text[:120]!r}"
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode")))
    if code in (0, "0"):
        return None
    message = answer.get("errmsg", answer.get("msg", answer.get("StatusMessage", "")))
    return f"robot refused: code {code} {message}"
