"""Local stand-ins for the WeCom, DingTalk and Feishu robot endpoints, checking what their documentation requires.

Written from the vendors' documentation, not from hazwatch's code: WeCom checks the `key` query parameter;
DingTalk checks `timestamp` (ms, within an hour) and `sign` = Base64(HMAC-SHA256(secret, ts + "\\n" + secret));
Feishu checks the body's `timestamp` (s, within an hour) and `sign` = Base64(HMAC-SHA256(key = ts + "\\n" +
secret, message = "")). Like the real ones they answer HTTP 200 with an error code when they refuse.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

from aiohttp import web

from collector.app.localservices import free_port

WECOM_KEY = "3f2a9c1e-0000-4d1b-a994-790f21fc8d30"
DINGTALK_TOKEN, DINGTALK_SECRET = "ding-access-token", "SECdingtalk-robot-secret"
FEISHU_HOOK, FEISHU_SECRET = "feishu-hook-id", "feishu-robot-secret"


@dataclass
class RobotMessage:
    robot: str
    body: dict
    accepted: bool


@dataclass
class RobotReceivers:
    port: int = field(default_factory=free_port)
    messages: list[RobotMessage] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def wecom_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key={WECOM_KEY}"

    @property
    def dingtalk_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token={DINGTALK_TOKEN}"

    @property
    def feishu_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/open-apis/bot/v2/hook/{FEISHU_HOOK}"

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/cgi-bin/webhook/send", self._wecom)
        app.router.add_post("/robot/send", self._dingtalk)
        app.router.add_post("/open-apis/bot/v2/hook/{hook}", self._feishu)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def of(self, robot: str, accepted: bool = True) -> list[dict]:
        return [m.body for m in self.messages if m.robot == robot and m.accepted == accepted]

    async def wait_for(self, robot: str, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.of(robot)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{robot} robot got {len(self.of(robot))} of {count} messages in {timeout} s")
            await asyncio.sleep(0.02)
        return self.of(robot)

    def _keep(self, robot: str, body: dict, accepted: bool) -> None:
        self.messages.append(RobotMessage(robot, body, accepted))

    async def _wecom(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        ok = request.query.get("key") == WECOM_KEY and body.get("msgtype") == "markdown"
        ok = ok and len(body["markdown"]["content"].encode()) <= 4096
        self._keep("wecom", body, ok)
        return web.json_response({"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 93000, "errmsg": "invalid"})

    async def _dingtalk(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        stamp, sign = request.query.get("timestamp", ""), request.query.get("sign", "")
        expected = base64.b64encode(
            hmac.new(DINGTALK_SECRET.encode(), f"{stamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
        ).decode()
        fresh = stamp.isdigit() and abs(time.time() * 1000 - int(stamp)) < 3600 * 1000
        ok = request.query.get("access_token") == DINGTALK_TOKEN and fresh and hmac.compare_digest(sign, expected)
        self._keep("dingtalk", body, ok)
        answer = {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 310000, "errmsg": "sign not match"}
        return web.json_response(answer)

    async def _feishu(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        stamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
        key = f"{stamp}\n{FEISHU_SECRET}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 3600
        ok = request.match_info["hook"] == FEISHU_HOOK and fresh and hmac.compare_digest(sign, expected)
        self._keep("feishu", body, ok)
        if ok:
            return web.json_response({"code": 0, "msg": "success", "data": {}})
        return web.json_response({"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
