"""Feishu / Lark (飞书) custom bot: `POST https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN`.

With the bot's 'signature verification' setting, the JSON body carries `timestamp` (Unix seconds, within
one hour) and `sign` = Base64 of HMAC-SHA256 keyed with timestamp + "\\n" + secret over an empty message.
They are added at send time, so a retried message is signed afresh. The bot answers HTTP 200 with
`{"code": 0, ...}` and a non-zero `code` (e.g. 19021, sign mismatch) when it refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from collector.notify.robot_text import message_for


def feishu_body(payload: dict[str, object]) -> dict[str, object]:
    message = message_for(payload)
    rows = [[{"tag": "text", "text": f"{label}: {value}"}] for label, value in message.lines]
    if message.link:
        rows.append([{"tag": "a", "text": "应答 / Respond", "href": message.link}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": message.title, "content": rows}}}}


def feishu_sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
