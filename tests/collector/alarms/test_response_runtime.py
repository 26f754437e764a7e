"""`hazwatch run` wiring: a page from the running service carries a link its own API answers, ending the chain."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest

from collector.app.demo import with_free_modbus_ports
from collector.app.localservices import free_port
from collector.app.runtime import RunOptions, build_runtime, serve
from collector.notify.payload import rfc3339
from detectors.alarms.conditions import ConditionChange
from hazwatch.config import load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.notify import Escalation, Subscriber
from tests.collector.notify.notify_harness import SECRET, Receiver

pytestmark = pytest.mark.anyio
SITE, SENSOR, RULE = "hengda-chem", "R101-LEL", "threshold.high"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_running_service_pages_with_a_link_its_api_answers_and_the_answer_stops_the_escalation(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HAZWATCH_WEBHOOK_SECRET", SECRET.decode())
    monkeypatch.setenv("HAZWATCH_API_TOKEN", "api-token")
    monkeypatch.setenv("HAZWATCH_RESPONSE_SECRET", "link-secret")
    receiver = Receiver()
    await receiver.up()
    api_port = free_port()
    config = with_free_modbus_ports(load_config(EXAMPLES / "chemical-plant.yaml"))
    subscriber = Subscriber(
        name="shift-lead", url=receiver.url("/page"), escalation=Escalation(after_minutes=0.01)  # 0.6 s
    )
    webhooks = config.webhooks.model_copy(
        update={
            "subscribers": [subscriber],
            "backoff_initial": 0.05,
            "backoff_max": 0.3,
            "responses": config.webhooks.responses.model_copy(update={"public_url": f"http://127.0.0.1:{api_port}"}),
        }
    )
    runtime = build_runtime(
        config.model_copy(update={"webhooks": webhooks}),
        RunOptions(line_protocol_file=tmp_path / "out.lp", state_dir=tmp_path / "state", api_port=api_port),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(runtime, stop, api_port))
    try:
        slot = runtime.registry.slot(SITE, SENSOR)
        await asyncio.sleep(0.5)  # the API is up
        change = ConditionChange(slot, RULE, "process", 1, "level1", "high", 40.0, 25.0, time.time_ns(), "LEL 40")
        runtime.dispatch(runtime.lifecycle.apply([change], time.time_ns()))

        def ours() -> list[dict]:
            return [p for p in receiver.payloads() if p["sensor"] == SENSOR and p["rule"] == RULE]

        deadline = time.monotonic() + 10
        while not [p for p in ours() if p["transition"] == "renotify"]:
            assert time.monotonic() < deadline, "no re-notification of the unanswered alarm"
            await asyncio.sleep(0.05)
        link = ours()[-1]["response_url"]
        async with httpx.AsyncClient() as client:
            answer = await client.post(link, json={"answer": "handled", "user": "Sun Li", "measures": "valve closed"})
            answered = time.time_ns()
            await asyncio.sleep(1.5)  # more than two escalation periods
            records = (
                await client.get(
                    f"http://127.0.0.1:{api_port}/records", headers={"Authorization": "Bearer api-token"}
                )
            ).json()["records"]
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await receiver.down()

    assert answer.status_code == 200, answer.text
    later = [p for p in ours() if p["transition"] == "renotify" and p["time"] > rfc3339(answered)]
    assert later == [], "the answer did not stop the escalation"
    assert {"ack", "respond"} <= {p["transition"] for p in ours()}
    record = next(r for r in records if r["sensor"] == SENSOR)
    assert [(r["user"], r["answer"], r["measures"]) for r in record["responses"]] == [
        ("Sun Li", "handled", "valve closed")
    ]

