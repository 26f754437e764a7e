"""Response links: the person paged answers from the message; the answer stops escalation and is on record."""

from __future__ import annotations

import time

import httpx
import pytest

from collector.notify.payload import PayloadBuilder
from detectors.alarms.conditions import ConditionChange
from hazwatch.events import AlarmState, Transition
from tests.support.respond_service import response_service

pytestmark = pytest.mark.anyio
SITE, SENSOR, RULE = "hengda-chem", "R101-LEL", "threshold.high"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def lel(registry, level: int, value: float, t_ns: int | None = None) -> ConditionChange:
    return ConditionChange(
        slot=registry.slot(SITE, SENSOR),
        rule=RULE,
        category="process",
        level=level,
        level_name={0: "normal", 1: "level1", 2: "level2"}[level],
        priority={0: "low", 1: "high", 2: "critical"}[level],
        value=value,
        limit={0: 25.0, 1: 25.0, 2: 50.0}[level],
        time_ns=t_ns or time.time_ns(),
        message=f"LEL {value:g} %LEL",
    )


def link_of(service, event) -> str:
    link = service.links.link_for(PayloadBuilder(service.registry).build(event))
    assert link is not None and link.startswith(f"{service.url}/respond/")
    return link


async def test_a_handled_answer_acknowledges_tells_everyone_and_completes_the_handling_record(
    plant_registry, tmp_path
):
    async with response_service(plant_registry, tmp_path) as service:
        raised = service.apply(lel(plant_registry, 1, 40.0))
        service.apply(lel(plant_registry, 2, 56.0))
        link = link_of(service, raised[0])
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                link, json={"answer": "handled", "user": "Wang Lei, shift lead", "measures": "R101 feed valve closed"}
            )
            service.apply(lel(plant_registry, 0, 8.0))
            records = (await client.get(f"{service.url}/records", headers=service.api_headers)).json()["records"]
            audit = (await client.get(f"{service.url}/audit", headers=service.api_headers)).json()["audit"]

        slot = plant_registry.slot(SITE, SENSOR)
        assert answer.status_code == 200, answer.text
        assert [e.transition.value for e in service.dispatched] == ["raise", "escalate", "ack", "respond", "clear"]
        ack, respond = service.dispatched[2], service.dispatched[3]
        assert ack.extra["user"] == respond.extra["user"] == "Wang Lei, shift lead"
        assert respond.state is AlarmState.ACKNOWLEDGED and respond.annunciate
        said = {"answer": "handled", "measures": "R101 feed valve closed", "via": "response link"}
        assert respond.extra["response"] == said
        assert service.lifecycle.status(slot, RULE) is None  # acknowledged, then cleared: nothing left standing

    entry = audit[0]
    assert (entry["user"], entry["action"], entry["outcome"]) == ("Wang Lei, shift lead", "respond", "done")
    assert entry["detail"]["measures"] == "R101 feed valve closed"
    assert entry["detail"]["paged_event_id"] == raised[0].event_id
    record = records[0]
    assert (record["site"], record["sensor"], record["rule"]) == (SITE, SENSOR, RULE)
    assert record["peak"] == {"level": 2, "level_name": "level2", "value": 56.0}
    assert record["start"] < record["responses"][0]["time"] <= record["end"]
    assert [(r["user"], r["answer"], r["measures"]) for r in record["responses"]] == [
        ("Wang Lei, shift lead", "handled", "R101 feed valve closed")
    ]


async def test_a_used_link_explains_who_used_it_and_changes_nothing(plant_registry, tmp_path):
    async with response_service(plant_registry, tmp_path) as service:
        link = link_of(service, service.apply(lel(plant_registry, 1, 40.0))[0])
        async with httpx.AsyncClient() as client:
            first = await client.post(link, json={"answer": "ack", "user": "Li Na"})
            events_after_first = len(service.dispatched)
            again = await client.post(link, json={"answer": "handled", "user": "Zhao", "measures": "none"})
            page = await client.get(link, headers={"Accept-Language": "en"})
            audit = (await client.get(f"{service.url}/audit", headers=service.api_headers)).json()["audit"]

    assert first.status_code == 200
    assert again.status_code == 409 and again.json()["error"] == "used" and again.json()["user"] == "Li Na"
    assert len(service.dispatched) == events_after_first
    assert page.status_code == 409 and "already used" in page.text and "Li Na" in page.text
    assert "<form" not in page.text
    assert [e["user"] for e in audit] == ["Li Na"]


async def test_an_expired_or_altered_link_is_refused_and_changes_nothing(plant_registry, tmp_path):
    now = [time.time_ns()]
    async with response_service(plant_registry, tmp_path, clock=lambda: now[0]) as service:
        link = link_of(service, service.apply(lel(plant_registry, 1, 40.0, now[0]))[0])
        body, _, signature = link.rpartition(".")
        altered = f"{body[:-2]}{'AB' if body[-2:] != 'AB' else 'CD'}.{signature}"
        async with httpx.AsyncClient() as client:
            tampered = await client.post(altered, json={"answer": "ack", "user": "x"})
            now[0] += 31 * 60 * 10**9  # the link was valid for 30 minutes
            expired = await client.post(link, json={"answer": "ack", "user": "x"})
            expired_page = await client.get(link, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})

        slot = plant_registry.slot(SITE, SENSOR)
        assert service.lifecycle.status(slot, RULE).state is AlarmState.UNACKNOWLEDGED
    assert (tampered.status_code, tampered.json()["error"]) == (403, "invalid")
    assert (expired.status_code, expired.json()["error"]) == (410, "expired")
    assert expired_page.status_code == 410 and "此链接已过期" in expired_page.text and "<form" not in expired_page.text
    assert [e.transition for e in service.dispatched] == [Transition.RAISE]


async def test_a_handled_answer_without_measures_is_refused_and_the_link_still_works(plant_registry, tmp_path):
    async with response_service(plant_registry, tmp_path) as service:
        link = link_of(service, service.apply(lel(plant_registry, 1, 40.0))[0])
        async with httpx.AsyncClient() as client:
            vague = await client.post(link, json={"answer": "handled", "user": "Li Na"})
            anonymous = await client.post(link, json={"answer": "ack", "user": "  "})
            proper = await client.post(link, json={"answer": "ack", "user": "Li Na"})
    assert (vague.status_code, vague.json()["error"]) == (400, "missing_measures")
    assert (anonymous.status_code, anonymous.json()["error"]) == (400, "missing_user")
    assert proper.status_code == 200


async def test_the_phone_page_shows_the_alarm_as_it_is_now_in_the_readers_language_under_a_strict_csp(
    plant_registry, tmp_path
):
    async with response_service(plant_registry, tmp_path) as service:
        link = link_of(service, service.apply(lel(plant_registry, 1, 40.0))[0])
        service.apply(lel(plant_registry, 2, 57.5))  # escalated after the page went out
        async with httpx.AsyncClient() as client:
            zh = await client.get(link, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
            en = await client.get(link, headers={"Accept-Language": "en-GB,en;q=0.8,zh;q=0.5"})
            sent = await client.post(
                link,
                data={"answer": "handled", "user": "王磊", "measures": "关闭进料阀,撤离R101人员"},
                headers={"Accept-Language": "zh-CN"},
            )

    assert zh.status_code == 200 and "报警应答" in zh.text and "采取的措施" in zh.text
    assert en.status_code == 200 and "Answer the alarm" in en.text and "Measures taken" in en.text
    for page in (zh, en):
        assert "57.5" in page.text and "level2" in page.text and "R101-LEL" in page.text
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "<script" not in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    assert sent.status_code == 200 and "已记录" in sent.text and "王磊" in sent.text
    assert service.dispatched[-1].extra["response"]["measures"] == "关闭进料阀,撤离R101人员"


async def test_only_paging_events_of_a_standing_unacknowledged_alarm_carry_a_link(plant_registry, tmp_path):
    async with response_service(plant_registry, tmp_path) as service:
        builder = PayloadBuilder(plant_registry)
        raised = service.apply(lel(plant_registry, 1, 40.0))
        acked = service.lifecycle.acknowledge(plant_registry.slot(SITE, SENSOR), RULE, "op", time.time_ns())
        cleared = service.apply(lel(plant_registry, 0, 5.0))
    assert service.links.link_for(builder.build(raised[0])) is not None
    assert service.links.link_for(builder.build(acked[0])) is None
    assert service.links.link_for(builder.build(cleared[0])) is None


async def test_a_handled_report_after_the_control_room_acknowledged_adds_the_measures_without_a_second_ack(
    plant_registry, tmp_path
):
    async with response_service(plant_registry, tmp_path) as service:
        link = link_of(service, service.apply(lel(plant_registry, 1, 40.0))[0])
        async with httpx.AsyncClient() as client:
            acked = await client.post(
                f"{service.url}/alarms/{SITE}/{SENSOR}/{RULE}/ack", json={"user": "control room"},
                headers=service.api_headers,
            )
            handled = await client.post(
                link, json={"answer": "handled", "user": "field crew 3", "measures": "leak at flange F12 clamped"}
            )
            record = (await client.get(f"{service.url}/records", headers=service.api_headers)).json()["records"][0]

    assert acked.status_code == 200 and handled.status_code == 200, handled.text
    assert [e.transition.value for e in service.dispatched] == ["raise", "ack", "respond"]
    assert [(r["user"], r["answer"], r["via"]) for r in record["responses"]] == [
        ("control room", "ack", "api"),
        ("field crew 3", "handled", "response link"),
    ]
    assert record["end"] is None  # still standing: the episode is open
