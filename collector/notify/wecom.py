"""WeCom (企业微信) group robot: `POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`.

The robot has no signature; the `key` in the URL is its credential, so keep the URL secret. It answers
HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`, and with a non-zero `errcode` when it refused the message.
"""

from __future__ import annotations

from collector.notify.robot_text import markdown, message_for

MAX_MARKDOWN_BYTES = 4096


def wecom_body(payload: dict[str, object]) -> dict[str, object]:
    text = markdown(message_for(payload)).encode()[:MAX_MARKDOWN_BYTES].decode(errors="ignore")
    return {"msgtype": "markdown", "markdown": {"content": text}}
