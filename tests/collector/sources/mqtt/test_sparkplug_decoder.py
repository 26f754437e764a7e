"""The Sparkplug B edge-node decoder's rules, message by message (the outside-library run is test_sparkplug_ingest)."""

from __future__ import annotations

import math

from collector.sources.mqtt.payloads import Decoded
from collector.sources.mqtt.sparkplug import SparkplugHostDecoder, SparkplugNodeDecoder
from collector.sources.mqtt.sparkplug_b import DATATYPES, Payload
from collector.sources.mqtt.topics import TopicMatch
from hazwatch.config.sparkplug import SparkplugNode
from hazwatch.quality import Quality

NOW_NS = 1_714_550_400_000_000_000
T_MS = 1_714_550_399_000
SLOTS = {"TT": 3, "PT": 4, "FLOW": 5}
NODE = SparkplugNode(
    group_id="g", edge_node_id="e", primary_host="scada", rebirth_interval=3600,
    metrics=[{"sensor": "TT", "device": "d1", "metric": "Temp"}, {"sensor": "PT", "device": "d1", "metric": "Press"},
             {"sensor": "FLOW", "metric": "Flow"}],
)  # fmt: skip


def payload(seq: int | None, *metrics: dict) -> bytes:
    message = Payload(timestamp=T_MS)
    if seq is not None:
        message.seq = seq
    for fields in metrics:
        message.metrics.add(**fields)
    return message.SerializeToString()


def send(decoder: SparkplugNodeDecoder, kind: str, body: bytes, device: str | None = None) -> Decoded:
    segments = {"message_type": kind, **({"spb_device": device} if device else {})}
    return decoder.decode(body, TopicMatch(segments, None, None), NOW_NS)


def rows(decoded: Decoded) -> list[tuple[int, float, int]]:
    b = decoded.batch
    return list(zip(b.slot.tolist(), b.value.tolist(), b.quality.tolist(), strict=True))


def born(bd_seq: int = 7) -> SparkplugNodeDecoder:
    decoder = SparkplugNodeDecoder("s", "edge", NODE, SLOTS)
    send(decoder, "NBIRTH", payload(0, {"name": "bdSeq", "datatype": DATATYPES["Int64"], "long_value": bd_seq},
                                    {"name": "Flow", "alias": 9, "datatype": DATATYPES["Double"], "double_value": 1.5}))
    send(decoder, "DBIRTH", payload(1, {"name": "Temp", "alias": 1, "datatype": DATATYPES["Float"], "float_value": 20},
                                    {"name": "Press", "alias": 2, "datatype": DATATYPES["Int16"], "int_value": 3},
                                    {"name": "Other", "alias": 3, "datatype": DATATYPES["Double"], "double_value": 9}),
         "d1")  # fmt: skip
    return decoder


def test_signed_values_travel_as_twos_complement_and_decode_by_the_birth_datatype():
    decoder = born()
    decoded = send(decoder, "DDATA", payload(2, {"alias": 2, "int_value": 0xFFFFFFFE}), "d1")
    assert rows(decoded) == [(4, -2.0, Quality.GOOD)]
    assert decoded.batch.time_ns.tolist() == [T_MS * 1_000_000], "the payload's time when the metric has none"


def test_a_metric_no_sensor_watches_is_ignored_silently():
    decoded = send(born(), "DDATA", payload(2, {"alias": 3, "double_value": 5.0}), "d1")
    assert rows(decoded) == [] and decoded.rejections == [] and decoded.replies == ()


def test_seq_wraps_from_255_to_0_without_a_gap_and_a_jump_is_one_gap():
    decoder = born()
    reasons = []
    for seq in [*range(2, 256), 0, 1, 5]:
        decoded = send(decoder, "NDATA", payload(seq, {"alias": 9, "double_value": 2.0}))
        reasons += [r.reason for r in decoded.rejections]
    assert reasons == ["seq_gap"]


def test_data_before_any_birth_asks_for_a_rebirth_once_per_interval():
    decoder = SparkplugNodeDecoder("s", "edge", NODE, SLOTS)
    first = send(decoder, "NDATA", payload(4, {"alias": 9, "double_value": 2.0}))
    second = send(decoder, "NDATA", payload(5, {"alias": 9, "double_value": 2.0}))
    assert [r.reason for r in first.rejections] == ["no_birth"] and rows(first) == []
    [(topic, body)] = first.replies
    request = Payload()
    request.ParseFromString(body)
    assert topic == "spBv1.0/g/NCMD/e"
    assert [(m.name, m.boolean_value) for m in request.metrics] == [("Node Control/Rebirth", True)]
    assert second.replies == (), "no rebirth storm"


def test_a_null_metric_or_a_bad_quality_property_is_never_a_good_number():
    decoder = born()
    null = send(decoder, "DDATA", payload(2, {"alias": 1, "is_null": True}), "d1")
    [(slot, value, quality)] = rows(null)
    assert (slot, quality) == (3, Quality.FAULT) and math.isnan(value)
    quality = {"keys": ["Quality"], "values": [{"type": 3, "int_value": 500}]}
    stale = {"alias": 1, "float_value": 21.0, "properties": quality}
    assert rows(send(decoder, "DDATA", payload(3, stale), "d1")) == [(3, 21.0, Quality.OFFLINE)]


def test_text_that_is_not_a_number_is_rejected():
    decoder = born()
    decoded = send(decoder, "DDATA", payload(2, {"alias": 1, "datatype": DATATYPES["String"], "string_value": "hot"}),
                   "d1")  # fmt: skip
    assert [r.reason for r in decoded.rejections] == ["bad_value"] and rows(decoded) == []


def test_a_stale_ndeath_from_an_earlier_session_does_not_kill_the_current_one():
    decoder = born(bd_seq=7)
    stale = send(decoder, "NDEATH", payload(None, {"name": "bdSeq", "datatype": DATATYPES["Int64"], "long_value": 6}))
    assert rows(stale) == []
    dead = send(decoder, "NDEATH", payload(None, {"name": "bdSeq", "datatype": DATATYPES["Int64"], "long_value": 7}))
    assert sorted(slot for slot, _, q in rows(dead) if q == Quality.OFFLINE) == [3, 4, 5]


def test_the_older_text_state_offline_reaches_every_node_of_the_host():
    first, second = born(), born()
    decoded = SparkplugHostDecoder([first, second]).decode(b"OFFLINE", TopicMatch({}, None, None), NOW_NS)
    assert sorted(slot for slot, _, q in rows(decoded) if q == Quality.OFFLINE) == [3, 3, 4, 4, 5, 5]
    assert first.birth is None and second.birth is None, "data after it waits for new births"


def test_garbage_is_rejected_not_raised():
    decoder = born()
    assert [r.reason for r in send(decoder, "DDATA", b"\xff\xff\xff", "d1").rejections] == ["not_sparkplug"]
    assert [r.reason for r in send(decoder, "XDATA", payload(2)).rejections] == ["not_sparkplug"]
