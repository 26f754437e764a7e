"""The webhook contract: signature, secret loading, payload fields, and subscriber filters."""

from __future__ import annotations

import json
import math
import time

import pytest

from collector.notify.filters import subscriber_wants
from collector.notify.payload import PayloadBuilder, encode, kpi_record_from_payload
from collector.notify.signing import MissingSecret, load_secret, sign, signed_headers, verify
from hazwatch.config.notify import Subscriber, SubscriberFilter, WebhookSettings
from hazwatch.events import AlarmEvent, AlarmState, Transition


def event(slot: int, **changes) -> AlarmEvent:
    fields = dict(
        event_id="e1",
        slot=slot,
        rule="threshold.high",
        category="process",
        transition=Transition.RAISE,
        state=AlarmState.UNACKNOWLEDGED,
        level=1,
        level_name="alarm",
        priority="high",
        value=1.05,
        limit=1.0,
        time_ns=1_700_000_000_123_000_000,
        message="CH4 1.05 %",
    )
    return AlarmEvent(**(fields | changes))


def test_signature_is_hmac_sha256_over_timestamp_dot_body_and_verifies_on_the_receiver_side():
    body = b'{"event_id":"e1"}'
    headers = signed_headers(b"s3cret", body, "e1", timestamp=1_700_000_000)
    assert headers["X-Hazwatch-Timestamp"] == "1700000000"
    assert headers["X-Hazwatch-Signature"] == sign(b"s3cret", 1_700_000_000, body)
    assert verify(b"s3cret", "1700000000", headers["X-Hazwatch-Signature"], body, now=1_700_000_010)
    assert not verify(b"s3cret", "1700000000", headers["X-Hazwatch-Signature"], body + b" ", now=1_700_000_010)
    assert not verify(b"other", "1700000000", headers["X-Hazwatch-Signature"], body, now=1_700_000_010)
    assert not verify(b"s3cret", "1700000000", headers["X-Hazwatch-Signature"], body, now=1_700_001_000)


def test_the_secret_comes_from_the_environment_or_a_file_and_is_required(monkeypatch, tmp_path):
    monkeypatch.delenv("HAZWATCH_WEBHOOK_SECRET", raising=False)
    with pytest.raises(MissingSecret, match="HAZWATCH_WEBHOOK_SECRET"):
        load_secret(WebhookSettings())
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    assert load_secret(WebhookSettings(secret_file=str(secret_file))) == b"from-file"
    monkeypatch.setenv("HAZWATCH_WEBHOOK_SECRET", "from-env")
    assert load_secret(WebhookSettings(secret_file=str(secret_file))) == b"from-env"


def test_payload_carries_the_contract_fields_and_never_a_nan(mine_registry):
    slot = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    payload = PayloadBuilder(mine_registry).build(event(slot, value=math.nan, extra={"user": "li", "peak_level": 2}))
    for name in ("event_id", "site", "area", "sensor", "kind", "level", "state", "value", "limit", "unit", "time"):
        assert name in payload
    assert payload["value"] is None and payload["user"] == "li" and payload["peak_level"] == 2
    assert payload["time"] == "2023-11-14T22:13:20.123Z"
    assert json.loads(encode(payload)) == payload
    record = kpi_record_from_payload(payload)
    assert (record.key, record.time_ns) == ("xinyuan-mine/LW-CH4-T1/threshold.high", 1_700_000_000_123_000_000)


def test_filters_pick_by_site_level_kind_category_rule_and_a_list_is_a_union(mine_registry):
    builder = PayloadBuilder(mine_registry)
    ch4 = mine_registry.slot("xinyuan-mine", "LW-CH4-T1")
    co = mine_registry.slot("xinyuan-mine", "LW-CO-T0")
    alarm = builder.build(event(ch4))
    power_cut_clear = builder.build(
        event(ch4, transition=Transition.CLEAR, level=0, state=AlarmState.NORMAL, extra={"peak_level": 2})
    )
    offline = builder.build(event(co, rule="health.offline", category="health"))
    bureau = Subscriber(
        name="bureau",
        url="http://x",
        filter=[SubscriberFilter(min_level=2), SubscriberFilter(rules=["health.offline*"], categories=["health"])],
    )
    assert not subscriber_wants(bureau, alarm)
    assert subscriber_wants(bureau, power_cut_clear)
    assert subscriber_wants(bureau, offline)
    gas_only = Subscriber(name="gas", url="http://x", filter=SubscriberFilter(kinds=["CH4"], sites=["xinyuan-mine"]))
    assert subscriber_wants(gas_only, alarm) and not subscriber_wants(gas_only, offline)
    other_site = Subscriber(name="o", url="http://x", filter=SubscriberFilter(sites=["elsewhere"]))
    assert not subscriber_wants(other_site, alarm)


def test_signed_headers_default_to_the_current_time():
    headers = signed_headers(b"k", b"{}", "e")
    assert abs(int(headers["X-Hazwatch-Timestamp"]) - time.time()) < 5
