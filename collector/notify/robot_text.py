"""The words of a chat-robot alarm message: short, Chinese first with the English term, the response link last.

A shift lead reads it on a phone in a group chat: what, where, how bad, since when, and where to answer.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSITION_WORDS = {
    "raise": "报警 alarm",
    "escalate": "升级 escalated",
    "deescalate": "降级 de-escalated",
    "clear": "恢复 cleared",
    "ack": "已确认 acknowledged",
    "respond": "已应答 answered",
    "shelve": "搁置 shelved",
    "unshelve": "取消搁置 unshelved",
    "reset": "复位 reset",
    "out_of_service": "停用 out of service",
    "return_to_service": "恢复使用 back in service",
    "renotify": "未确认,再次通知 still unacknowledged",
}


@dataclass(frozen=True, slots=True)
class RobotMessage:
    title: str
    lines: list[tuple[str, str]]
    """(label, value) rows."""
    link: str | None


def _number(value: object, unit: object) -> str:
    return "—" if value is None else f"{value:g} {unit}".strip() if isinstance(value, float | int) else str(value)


def message_for(payload: dict[str, object]) -> RobotMessage:
    what = TRANSITION_WORDS.get(str(payload["transition"]), str(payload["transition"]))
    title = f"[hazwatch] {what} · {payload['level_name']} · {payload['site']} {payload['sensor']}"
    lines = [
        ("区域 area", str(payload["area"])),
        ("传感器 sensor", f"{payload['sensor']} {payload.get('sensor_name') or ''}".strip()),
        ("数值 value", _number(payload["value"], payload["unit"])),
        ("限值 limit", _number(payload["limit"], payload["unit"])),
        ("级别 level", f"{payload['level']} {payload['level_name']}"),
        ("状态 state", str(payload["state"])),
        ("时间 time", str(payload["time"])),
        ("说明 message", str(payload["message"])),
    ]
    if payload.get("user"):
        lines.append(("处理人 by", str(payload["user"])))
    response = payload.get("response") or {}
    if isinstance(response, dict) and response.get("measures"):
        lines.append(("措施 measures", str(response["measures"])))
    link = payload.get("response_url")
    return RobotMessage(title, lines, str(link) if link else None)


def markdown(message: RobotMessage) -> str:
    """The Markdown subset WeCom and DingTalk robots both render (bold, quote, link)."""
    rows = [f"**{message.title}**", ""] + [f"> {label}: {value}" for label, value in message.lines]
    if message.link:
        rows += ["", f"[应答 / Respond]({message.link})"]
    return "\n".join(rows)
