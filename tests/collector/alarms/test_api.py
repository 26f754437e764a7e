"""The alarm API and `hazwatch alarms`: a bearer token, an audit trail of who did what, and events for each action."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from collector.alarms.actions import AlarmActions
from collector.alarms.api import AlarmApi, MissingToken
from collector.alarms.store import AlarmStatePersister, AlarmStore, restore_lifecycle
from collector.app.cli.app import app
from detectors.alarms.conditions import ConditionChange
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.config import SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.events import AlarmState, Transition
from tests.support.alarm_server import FACE, RULE, SITE, RunningApi, running_api

TOKEN = "t0ken-for-tests"


@pytest.fixture(scope="module")
def registry() -> SensorRegistry:
    return SensorRegistry.from_config(load_config(EXAMPLES / "coal-mine.yaml"))


@pytest.fixture
def api(tmp_path, registry) -> Iterator[RunningApi]:
    with running_api(tmp_path, registry, TOKEN) as running:
        yield running


def test_the_api_refuses_to_start_without_a_token(tmp_path, registry, monkeypatch):
    monkeypatch.delenv("HAZWATCH_API_TOKEN", raising=False)
    with pytest.raises(MissingToken):
        AlarmApi(AlarmActions(AlarmLifecycle(), registry, AlarmStore.in_state_dir(tmp_path), lambda events: None))


def test_every_alarm_endpoint_needs_the_bearer_token(api):
    api.raise_methane(1, 1.1)
    assert httpx.get(f"{api.url}/alarms").status_code == 401
    assert api.post("ack", token="wrong", user="li").status_code == 401
    assert httpx.get(f"{api.url}/audit", headers={"Authorization": "Basic x"}).status_code == 401
    assert httpx.get(f"{api.url}/health").status_code == 200
    assert api.lifecycle.status(api.registry.slot(SITE, FACE), RULE).acknowledged is False


def test_an_acknowledgement_through_the_api_produces_an_ack_event_and_is_in_the_audit_trail(api):
    api.raise_methane(1, 1.1)

    response = api.post("ack", user="li.wei", comment="checked the face")

    assert response.status_code == 200
    (event,) = response.json()["events"]
    assert (event["transition"], event["state"], event["user"]) == ("ack", "acknowledged", "li.wei")
    assert api.dispatched[-1].transition is Transition.ACK
    assert api.dispatched[-1].event_id == event["event_id"]
    (entry,) = api.get("/audit").json()["audit"]
    assert (entry["user"], entry["action"], entry["sensor"], entry["rule"], entry["outcome"]) == (
        "li.wei", "ack", FACE, RULE, "done",
    )  # fmt: skip
    assert entry["event_ids"] == [event["event_id"]] and entry["detail"]["comment"] == "checked the face"
    (alarm,) = api.get("/alarms").json()["alarms"]
    assert (alarm["sensor"], alarm["state"], alarm["acknowledged"]) == (FACE, "acknowledged", True)


def test_refused_and_malformed_actions_are_answered_clearly_and_refusals_are_audited(api):
    api.raise_methane(2, 1.6)
    assert api.post("ack", user="li").status_code == 200
    second = api.post("ack", user="zhang")
    assert second.status_code == 409 and "already acknowledged" in second.json()["error"]
    assert api.post("shelve", user="zhang", minutes=30).status_code == 409  # a power-cut cannot be shelved
    assert api.post("ack").status_code == 400  # who?
    assert api.post("shelve", user="zhang", minutes=100_000).status_code == 400
    assert httpx.post(
        f"{api.url}/alarms/{SITE}/NO-SUCH/{RULE}/ack", json={"user": "li"}, headers={"Authorization": f"Bearer {TOKEN}"}
    ).status_code == 404  # fmt: skip
    outcomes = [(e["user"], e["action"], e["outcome"].split(":")[0]) for e in api.get("/audit").json()["audit"]]
    assert outcomes == [("zhang", "shelve", "refused"), ("zhang", "ack", "refused"), ("li", "ack", "done")]


def test_shelve_and_unshelve_through_the_api(api):
    api.raise_methane(1, 1.1)
    shelved = api.post("shelve", user="li", minutes=30).json()["events"][0]
    assert shelved["state"] == "shelved"
    assert api.get("/alarms").json()["alarms"][0]["shelved_until"] is not None
    assert api.post("unshelve", user="li").json()["events"][0]["state"] == "unacknowledged"


def test_active_alarm_state_survives_a_restart(api):
    api.raise_methane(2, 1.6)
    api.post("ack", user="li")
    api.raise_methane(0, 0.8, t_s=2.0)
    api.on_loop(lambda: api.dispatched.extend(api.lifecycle.set_out_of_service(5, "tech", int(3e9))))
    AlarmStatePersister(api.lifecycle, api.store, api.registry).save_now()

    restarted = AlarmLifecycle()
    reopened = AlarmStore(api.store.path)
    assert restore_lifecycle(restarted, reopened, api.registry) == 1

    (alarm,) = restarted.active()
    assert (alarm.state, alarm.level, alarm.latched, alarm.acknowledged) == (AlarmState.LATCHED, 2, True, True)
    assert restarted.out_of_service == {5: "tech"}
    assert restarted.reset(alarm.slot, RULE, "li")[0].state is AlarmState.NORMAL
    reopened.close()


def test_the_cli_lists_and_acknowledges_through_the_api(api, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    api.raise_methane(1, 1.1)
    runner = CliRunner()
    common = ["--api-url", api.url, "--token", TOKEN]

    listed = runner.invoke(app, ["alarms", "list", *common])
    assert listed.exit_code == 0 and FACE in listed.output and "unacknowledged" in listed.output

    acked = runner.invoke(app, ["alarms", "ack", SITE, FACE, RULE, "--user", "op-cli", *common])
    assert acked.exit_code == 0 and "acknowledged" in acked.output
    assert api.get("/audit").json()["audit"][0]["user"] == "op-cli"

    again = runner.invoke(app, ["alarms", "ack", SITE, FACE, RULE, "--user", "op-cli", *common])
    assert again.exit_code == 1
    assert runner.invoke(app, ["alarms", "list", "--api-url", api.url, "--token", "bad"]).exit_code == 2


def test_a_groups_alarm_is_listed_acknowledged_and_restored_under_the_groups_own_id(api):
    """A ventilation group's alarm is its own: listed with the group's id, name and area, acknowledged by that id,
    and back on the group's slot after a restart."""
    unit = api.registry.slot(SITE, "2103-heading-ventilation")
    assert unit is not None and unit >= len(api.registry)
    info = api.registry.sensors[unit]
    change = ConditionChange(
        unit, "multi.ventilation", "process", 1, "ventilation", "critical", 0.03, 0.01, int(1e9), "2103: fan stopped?"
    )
    api.on_loop(lambda: api.deliver(api.lifecycle.apply([change], int(1e9))))

    (listed,) = api.get("/alarms").json()["alarms"]
    assert (listed["sensor"], listed["sensor_name"]) == ("2103-heading-ventilation", "2103 heading ventilation")
    assert listed["area"] == info.area
    assert info.area == api.registry.sensors[api.registry.slot(SITE, "HD-CH4-T1")].area, "its first member's area"
    acked = httpx.post(
        f"{api.url}/alarms/{SITE}/2103-heading-ventilation/multi.ventilation/ack",
        json={"user": "li"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert acked.status_code == 200 and acked.json()["events"][0]["state"] == "acknowledged"
    AlarmStatePersister(api.lifecycle, api.store, api.registry).save_now()

    restarted = AlarmLifecycle()
    reopened = AlarmStore(api.store.path)
    assert restore_lifecycle(restarted, reopened, api.registry) == 1
    (alarm,) = restarted.active()
    assert (alarm.slot, alarm.rule, alarm.acknowledged) == (unit, "multi.ventilation", True)
    reopened.close()
