"""Payload decoding: the three forms devices send, their times and qualities, and everything that must be refused."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.sources.mqtt.decoders import decoder_for
from collector.sources.mqtt.payloads import MAX_PAYLOAD_BYTES, Decoded
from collector.sources.mqtt.topics import TopicMatch
from hazwatch.batch import QUALITY_DTYPE, SLOT_DTYPE, TIME_DTYPE, VALUE_DTYPE
from hazwatch.config.schema import MqttTopic
from hazwatch.quality import Quality

RECEIVED_NS = 1_700_000_000_123_456_789
AT_SENSOR = TopicMatch({"sensor": "TT-1"}, slot=7, sensor="TT-1")
UNKNOWN = TopicMatch({"sensor": "NOPE"}, slot=None, sensor="NOPE")
SLOTS = {"TT-1": 7, "PT-1": 8, "LT-1": 9}

NUMBER = MqttTopic(pattern="t/{sensor}", payload="number", time_path=None, quality_path=None)
JSON = MqttTopic(
    pattern="t/{sensor}", payload="json", value_path="reading.value", time_path="reading.ts", quality_path="reading.q"
)
GATEWAY = MqttTopic(
    pattern="gw/{gateway}", payload="gateway", items_path="data.points", id_path="id", value_path="v", time_path="ts",
    quality_path="q",
)  # fmt: skip


def decode(topic: MqttTopic, payload: bytes | str | dict, match: TopicMatch = AT_SENSOR, **kwargs) -> Decoded:
    raw = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    raw = raw.encode() if isinstance(raw, str) else raw
    return decoder_for(topic, SLOTS, **kwargs).decode(raw, match, RECEIVED_NS)


def reasons(decoded: Decoded) -> list[str]:
    return [r.reason for r in decoded.rejections]


def reading(decoded: Decoded) -> tuple[int, int, float, int]:
    """(slot, time_ns, value, quality) of a decode that must yield exactly one reading and no rejection."""
    assert decoded.rejections == []
    assert len(decoded.batch) == 1
    b = decoded.batch
    return int(b.slot[0]), int(b.time_ns[0]), float(b.value[0]), int(b.quality[0])


class TestNumberPayloads:
    @pytest.mark.parametrize(("text", "value"), [("42.5", 42.5), (" -3\n", -3.0), ("1e-3", 0.001), ("0", 0.0)])
    def test_plain_number_text_is_the_value_stamped_with_the_receive_time(self, text: str, value: float) -> None:
        assert reading(decode(NUMBER, text)) == (7, RECEIVED_NS, value, Quality.GOOD)

    @pytest.mark.parametrize(
        ("payload", "reason"),
        [
            ("12,5", "not_number"),
            ("", "not_number"),
            ('{"v": 1}', "not_number"),
            (b"\xff\xfe", "not_number"),
            ("nan", "non_finite"),
            ("-inf", "non_finite"),
        ],
    )
    def test_anything_else_is_rejected_with_a_reason(self, payload: str | bytes, reason: str) -> None:
        decoded = decode(NUMBER, payload)
        assert len(decoded.batch) == 0
        assert reasons(decoded) == [reason]

    def test_a_topic_naming_an_unknown_sensor_is_rejected(self) -> None:
        assert reasons(decode(NUMBER, "1.0", UNKNOWN)) == ["unknown_sensor"]


class TestJsonPayloads:
    def test_value_time_and_quality_are_read_at_their_dot_paths(self) -> None:
        decoded = decode(JSON, {"reading": {"value": 71.25, "ts": 1_700_000_000_500, "q": "cal"}})
        assert reading(decoded) == (7, 1_700_000_000_500_000_000, 71.25, Quality.CALIBRATION)

    def test_missing_time_and_quality_mean_received_now_and_good(self) -> None:
        assert reading(decode(JSON, {"reading": {"value": 3}})) == (7, RECEIVED_NS, 3.0, Quality.GOOD)

    @pytest.mark.parametrize(
        ("value", "reason"),
        [(True, "bool_value"), (False, "bool_value"), ("12.5", "string_value"), ("", "string_value")],
    )
    def test_a_boolean_or_text_on_an_analog_sensor_is_refused_never_stored_as_a_number(self, value, reason) -> None:
        decoded = decode(JSON, {"reading": {"value": value}})
        assert len(decoded.batch) == 0
        assert reasons(decoded) == [reason]

    def test_a_boolean_is_the_reading_of_a_binary_sensor(self) -> None:
        assert reading(decode(JSON, {"reading": {"value": True}}, binary=frozenset({7})))[2] == 1.0
        assert reading(decode(JSON, {"reading": {"value": False}}, binary=frozenset({7})))[2] == 0.0

    @pytest.mark.parametrize(("text", "value"), [(" 12.5 ", 12.5), ("-3", -3.0), ("1e-3", 0.001), (".5", 0.5)])
    def test_decimal_number_text_is_a_value_where_the_topic_allows_it(self, text: str, value: float) -> None:
        topic = JSON.model_copy(update={"value_strings": True})
        assert reading(decode(topic, {"reading": {"value": text}}))[2] == value

    @pytest.mark.parametrize(
        ("text", "reason"),
        [("1_000", "bad_value"), ("\u0663", "bad_value"), ("0x10", "bad_value"), ("12,5", "bad_value"),
         ("nan", "non_finite"), ("-Infinity", "non_finite"), ("1e999", "non_finite")],
    )  # fmt: skip
    def test_number_text_python_would_read_but_json_would_not_is_refused(self, text: str, reason: str) -> None:
        topic = JSON.model_copy(update={"value_strings": True})
        decoded = decode(topic, {"reading": {"value": text}})
        assert len(decoded.batch) == 0
        assert reasons(decoded) == [reason]

    def test_a_null_value_flagged_not_good_is_kept_as_nan_with_its_quality(self) -> None:
        _, _, value, quality = reading(decode(JSON, {"reading": {"value": None, "q": "comm_fail"}}))
        assert math.isnan(value)
        assert quality == Quality.OFFLINE

    @pytest.mark.parametrize(
        ("payload", "reason"),
        [
            ("not json at all", "not_json"),
            ("{", "not_json"),
            ("[" * 100_000, "not_json"),
            ("[1, 2]", "not_object"),
            ("17.5", "not_object"),
            ({"reading": {}}, "missing_value"),
            ({"reading": {"value": None}}, "missing_value"),
            ({"value": 1.0}, "missing_value"),
            ({"reading": {"value": "abc"}}, "string_value"),
            ({"reading": {"value": {"x": 1}}}, "bad_value"),
            ({"reading": {"value": [1.0]}}, "bad_value"),
            ('{"reading": {"value": NaN}}', "non_finite"),
            ('{"reading": {"value": 1e999}}', "non_finite"),
            ('{"reading": {"value": "inf"}}', "string_value"),
            ('{"reading": {"value": Infinity}}', "non_finite"),
            ('{"reading": {"value": -Infinity}}', "non_finite"),
            ('{"reading": {"value": true}}', "bool_value"),
            ({"reading": {"value": 1.0, "q": "purple"}}, "bad_quality"),
            ({"reading": {"value": 1.0, "q": 99}}, "bad_quality"),
            ({"reading": {"value": 1.0, "ts": "yesterday"}}, "bad_time"),
            ({"reading": {"value": 1.0, "ts": -5}}, "bad_time"),
            ({"reading": {"value": 1.0, "ts": "9999-12-31T23:59:59Z"}}, "bad_time"),
        ],
    )
    def test_malformed_payloads_are_rejected_never_stored(self, payload: str | dict, reason: str) -> None:
        decoded = decode(JSON, payload)
        assert len(decoded.batch) == 0
        assert reasons(decoded) == [reason]

    def test_oversized_payloads_are_refused_before_parsing(self) -> None:
        huge = '{"reading": {"value": 1.0, "pad": "' + "x" * MAX_PAYLOAD_BYTES + '"}}'
        assert reasons(decode(JSON, huge)) == ["too_large"]


class TestTimes:
    @pytest.mark.parametrize(
        ("stamp", "expected_ns"),
        [
            (1_700_000_000, 1_700_000_000 * 10**9),
            (1_700_000_000.25, 1_700_000_000_250_000_000),
            (1_700_000_000_123, 1_700_000_000_123_000_000),
            (1_700_000_000_123_456, 1_700_000_000_123_456_000),
            (1_700_000_000_123_456_789, 1_700_000_000_123_456_789),
            ("1700000000123", 1_700_000_000_123_000_000),
            ("2023-11-14T22:13:20Z", 1_700_000_000 * 10**9),
            ("2023-11-14T22:13:20.123456Z", 1_700_000_000_123_456_000),
            ("2023-11-15T06:13:20+08:00", 1_700_000_000 * 10**9),
            ("2023-11-14 22:13:20.5+00:00", 1_700_000_000_500_000_000),
        ],
    )
    def test_epoch_units_are_told_apart_by_magnitude_and_rfc3339_is_read(self, stamp, expected_ns: int) -> None:
        assert reading(decode(JSON, {"reading": {"value": 1.0, "ts": stamp}}))[1] == expected_ns

    def test_a_timestamp_without_offset_is_read_in_the_site_time_zone(self) -> None:
        decoded = decode(
            JSON, {"reading": {"value": 1.0, "ts": "2023-11-15T06:13:20"}}, naive_tz=ZoneInfo("Asia/Shanghai")
        )
        expected = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC).timestamp()
        assert reading(decoded)[1] == int(expected) * 10**9


class TestQuality:
    @pytest.mark.parametrize(
        ("word", "quality"),
        [
            ("good", Quality.GOOD),
            ("OK", Quality.GOOD),
            ("normal", Quality.GOOD),
            ("offline", Quality.OFFLINE),
            ("comm_fail", Quality.OFFLINE),
            ("Comm-Fail", Quality.OFFLINE),
            ("fault", Quality.FAULT),
            ("bad", Quality.FAULT),
            ("over range", Quality.FAULT),
            ("calibration", Quality.CALIBRATION),
            ("cal", Quality.CALIBRATION),
            ("pseudo", Quality.PSEUDO),
            ("simulated", Quality.PSEUDO),
            (0, Quality.GOOD),
            (2, Quality.FAULT),
            (4, Quality.PSEUDO),
        ],
    )
    def test_quality_words_synonyms_and_codes(self, word: str | int, quality: Quality) -> None:
        assert reading(decode(JSON, {"reading": {"value": 1.0, "q": word}}))[3] == quality


class TestGatewayPayloads:
    def test_a_list_of_items_becomes_one_batch_of_numpy_columns(self) -> None:
        decoded = decode(
            GATEWAY,
            {
                "data": {
                    "points": [
                        {"id": "TT-1", "v": 70.5, "ts": 1_700_000_000_000, "q": "good"},
                        {"id": "PT-1", "v": 3.25, "ts": 1_700_000_000_001, "q": "fault"},
                        {"id": "LT-1", "v": 40, "ts": 1_700_000_000_002},
                    ]
                }
            },
        )
        assert decoded.rejections == []
        batch = decoded.batch
        assert batch.slot.tolist() == [7, 8, 9]
        assert batch.value.tolist() == [70.5, 3.25, 40.0]
        assert batch.time_ns.tolist() == [
            1_700_000_000_000_000_000,
            1_700_000_000_001_000_000,
            1_700_000_000_002_000_000,
        ]
        assert batch.quality.tolist() == [Quality.GOOD, Quality.FAULT, Quality.GOOD]
        assert (batch.slot.dtype, batch.time_ns.dtype, batch.value.dtype, batch.quality.dtype) == (
            SLOT_DTYPE, TIME_DTYPE, VALUE_DTYPE, QUALITY_DTYPE
        )  # fmt: skip

    def test_a_map_of_id_to_item_or_bare_value_with_a_message_level_time(self) -> None:
        decoded = decode(
            GATEWAY, {"ts": "2023-11-14T22:13:20Z", "q": "ok", "data": {"points": {"TT-1": {"v": 1.5}, "PT-1": 2.5}}}
        )
        assert decoded.rejections == []
        assert decoded.batch.slot.tolist() == [7, 8]
        assert decoded.batch.value.tolist() == [1.5, 2.5]
        assert np.all(decoded.batch.time_ns == 1_700_000_000 * 10**9)

    def test_bad_items_are_rejected_one_by_one_and_the_good_items_go_through(self) -> None:
        payload = (
            '{"data": {"points": [{"id": "TT-1", "v": 70.5}, {"id": "NOPE", "v": 1}, {"id": "PT-1", "v": NaN},'
            ' {"id": "PT-1", "v": "x"}, {"v": 2}, "junk", {"id": "LT-1", "v": 12, "q": "purple"},'
            ' {"id": "LT-1", "v": 41.0}]}}'
        )
        decoded = decode(GATEWAY, payload)
        assert decoded.batch.slot.tolist() == [7, 9]
        assert decoded.batch.value.tolist() == [70.5, 41.0]
        assert sorted(reasons(decoded)) == sorted(
            ["unknown_sensor", "non_finite", "string_value", "unknown_sensor", "unknown_sensor", "bad_quality"]
        )

    @pytest.mark.parametrize("payload", ['{"data": {"points": 5}}', '{"other": []}', "[1, 2]", '"text"'])
    def test_a_message_without_items_is_rejected(self, payload: str) -> None:
        assert reasons(decode(GATEWAY, payload)) == ["no_items"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["reading", "value", "ts", "q", "v", "id", "data", "points", "TT-1", "PT-1"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(document=json_values, form=st.sampled_from([NUMBER, JSON, GATEWAY]))
def test_no_payload_raises_and_no_good_reading_is_ever_non_finite(document, form: MqttTopic) -> None:
    """Whatever a device sends, decoding returns; a reading is either finite or flagged not good."""
    decoded = decode(form, json.dumps(document))
    batch = decoded.batch
    good = batch.quality == Quality.GOOD
    assert np.all(np.isfinite(batch.value[good]))
    assert len(batch) + len(decoded.rejections) >= (1 if form is not GATEWAY else 0)


item_values = st.one_of(
    st.floats(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70), st.booleans(), st.none(),
    st.sampled_from(["1.5", "x", ""]),
)  # fmt: skip
item_times = st.one_of(
    st.integers(min_value=-5, max_value=2**64),
    st.sampled_from([1_700_000_000, 1_700_000_000_123, 1_700_000_000_123_456, 1_700_000_000_123_456_789, 0, 10**11]),
    st.floats(min_value=-1, max_value=2e18), st.none(), st.booleans(),
    st.sampled_from(["2023-11-14T22:13:20Z", "2023-11-14T22:13:20", "1700000000", "soon"]),
)  # fmt: skip
item_qualities = st.one_of(
    st.sampled_from(["good", "ok", "fault", "OK", "Comm-Fail", "purple", ""]),
    st.integers(min_value=-1, max_value=6), st.none(), st.booleans(), st.floats(max_value=3),
)  # fmt: skip


@st.composite
def gateway_item(draw) -> dict:
    item: dict = {}
    for key, values in (("id", st.sampled_from([*SLOTS, "NOPE", 7, None])), ("v", item_values),
                        ("ts", item_times), ("q", item_qualities)):  # fmt: skip
        if draw(st.booleans()) or (key in ("id", "v") and draw(st.booleans())):
            item[key] = draw(values)
    return item


@settings(max_examples=400, deadline=None)
@given(
    items=st.lists(gateway_item(), max_size=12),
    root=st.fixed_dictionaries({}, optional={"ts": item_times, "q": item_qualities}),
)
def test_the_columnar_fast_path_decodes_exactly_as_item_by_item(items: list[dict], root: dict) -> None:
    """Same readings in the same order, same rejections with the same details: only the speed differs."""
    payload = json.dumps({**root, "data": {"points": items}}).encode()
    fast = decoder_for(GATEWAY, SLOTS)
    reference = dataclasses.replace(fast, columnar=False)
    got, expected = fast.decode(payload, AT_SENSOR, RECEIVED_NS), reference.decode(payload, AT_SENSOR, RECEIVED_NS)
    assert got.rejections == expected.rejections
    for column in ("slot", "time_ns", "value", "quality"):
        assert getattr(got.batch, column).dtype == getattr(expected.batch, column).dtype
        np.testing.assert_array_equal(getattr(got.batch, column), getattr(expected.batch, column), err_msg=column)


def test_a_large_gateway_message_in_the_usual_shape_is_decoded_in_full() -> None:
    slots = {f"S-{i}": i for i in range(500)}
    items = [{"id": f"S-{i}", "v": i / 4, "q": 0} for i in range(500)]
    items[3]["q"] = "Maintenance"  # another spelling of a known word: the per-item rules read it
    items[9]["v"] = "12.5"
    items[11]["id"] = "S-9999"
    payload = json.dumps({"ts": 1_700_000_000_000, "points": items}).encode()
    topic = MqttTopic(pattern="gw", payload="gateway", items_path="points", value_path="v", time_path="ts",
                      quality_path="q", value_strings=True)  # fmt: skip
    decoded = decoder_for(topic, slots).decode(payload, AT_SENSOR, RECEIVED_NS)
    assert reasons(decoded) == ["unknown_sensor"]
    assert decoded.batch.slot.tolist() == [i for i in range(500) if i != 11]
    assert decoded.batch.value[9] == 12.5 and decoded.batch.value[3] == 0.75
    assert decoded.batch.quality[3] == Quality.CALIBRATION
    assert np.all(decoded.batch.quality[np.arange(499) != 3] == Quality.GOOD)
    assert np.all(decoded.batch.time_ns == 1_700_000_000_000_000_000)


def test_an_integer_timestamp_beyond_any_range_rejects_its_item_not_the_message() -> None:
    """Found by the fuzzer: a 400-digit integer timestamp raised OverflowError and lost the whole message."""
    payload = '{"data": {"points": [{"id": "TT-1", "v": 70.5, "ts": 1' + "9" * 400 + '}, {"id": "PT-1", "v": 3.0}]}}'
    decoded = decode(GATEWAY, payload)
    assert decoded.batch.slot.tolist() == [8]
    assert reasons(decoded) == ["bad_time"]
