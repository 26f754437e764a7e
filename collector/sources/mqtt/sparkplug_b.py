"""The Sparkplug B payload (Eclipse Sparkplug 3.0, section 6.4) as protobuf messages, and how to read a metric.

The Python Sparkplug libraries on PyPI pin paho-mqtt below 2, which hazwatch's MQTT source needs, so
the payload is decoded with `protobuf` itself. The message types are declared here from the spec's
schema, field numbers and types exactly as published, in a private descriptor pool (no clash with any
other copy of the schema in the process). Only the fields hazwatch reads are declared: protobuf keeps
the others (datasets, templates, metadata) as unknown fields, so every valid payload parses.
"""

from __future__ import annotations

import math

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

PACKAGE = "org.eclipse.tahu.protobuf"
_F = descriptor_pb2.FieldDescriptorProto

DATATYPES = {
    "Int8": 1, "Int16": 2, "Int32": 3, "Int64": 4, "UInt8": 5, "UInt16": 6, "UInt32": 7, "UInt64": 8,
    "Float": 9, "Double": 10, "Boolean": 11, "String": 12, "DateTime": 13, "Text": 14,
}  # fmt: skip
"""Sparkplug B metric datatypes hazwatch reads as numbers (spec 6.4.16); the rest (arrays, datasets) are refused."""
SIGNED_BITS = {1: 8, 2: 16, 3: 32, 4: 64}
"""Signed types travel as two's complement in the unsigned int_value / long_value fields."""
BOOLEAN = DATATYPES["Boolean"]


def _field(name: str, number: int, kind: int, *, repeated: bool = False, type_name: str = "", oneof: int | None = None):
    field = _F(name=name, number=number, type=kind, label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL)
    if type_name:
        field.type_name = f".{PACKAGE}.Payload.{type_name}" if type_name != "Payload" else f".{PACKAGE}.Payload"
    if oneof is not None:
        field.oneof_index = oneof
    return field


def _schema() -> descriptor_pb2.FileDescriptorProto:
    u32, u64, f32, f64 = _F.TYPE_UINT32, _F.TYPE_UINT64, _F.TYPE_FLOAT, _F.TYPE_DOUBLE
    boolean, text, raw, msg = _F.TYPE_BOOL, _F.TYPE_STRING, _F.TYPE_BYTES, _F.TYPE_MESSAGE
    property_value = descriptor_pb2.DescriptorProto(
        name="PropertyValue",
        field=[
            _field("type", 1, u32), _field("is_null", 2, boolean), _field("int_value", 3, u32, oneof=0),
            _field("long_value", 4, u64, oneof=0), _field("float_value", 5, f32, oneof=0),
            _field("double_value", 6, f64, oneof=0), _field("boolean_value", 7, boolean, oneof=0),
            _field("string_value", 8, text, oneof=0),
        ],
        oneof_decl=[descriptor_pb2.OneofDescriptorProto(name="value")],
    )  # fmt: skip
    property_set = descriptor_pb2.DescriptorProto(
        name="PropertySet",
        field=[
            _field("keys", 1, text, repeated=True),
            _field("values", 2, msg, repeated=True, type_name="PropertyValue"),
        ],
    )
    metric = descriptor_pb2.DescriptorProto(
        name="Metric",
        field=[
            _field("name", 1, text), _field("alias", 2, u64), _field("timestamp", 3, u64), _field("datatype", 4, u32),
            _field("is_historical", 5, boolean), _field("is_transient", 6, boolean), _field("is_null", 7, boolean),
            _field("properties", 9, msg, type_name="PropertySet"), _field("int_value", 10, u32, oneof=0),
            _field("long_value", 11, u64, oneof=0), _field("float_value", 12, f32, oneof=0),
            _field("double_value", 13, f64, oneof=0), _field("boolean_value", 14, boolean, oneof=0),
            _field("string_value", 15, text, oneof=0), _field("bytes_value", 16, raw, oneof=0),
        ],
        oneof_decl=[descriptor_pb2.OneofDescriptorProto(name="value")],
    )  # fmt: skip
    payload = descriptor_pb2.DescriptorProto(
        name="Payload",
        field=[
            _field("timestamp", 1, u64), _field("metrics", 2, msg, repeated=True, type_name="Metric"),
            _field("seq", 3, u64), _field("uuid", 4, text), _field("body", 5, raw),
        ],
        nested_type=[property_value, property_set, metric],
    )  # fmt: skip
    return descriptor_pb2.FileDescriptorProto(
        name="hazwatch/sparkplug_b.proto", package=PACKAGE, syntax="proto2", message_type=[payload]
    )


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_schema())
Payload: type[Message] = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.Payload"))
Metric: type[Message] = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.Payload.Metric"))


class NotANumber(ValueError):
    """A metric hazwatch cannot read as a sensor value (an array, a dataset, non-numeric text)."""


def metric_value(metric: Message, datatype: int) -> float:
    """The metric's value as a float; NaN when it is null. `datatype` is the metric's own or its birth's."""
    if metric.is_null:
        return math.nan
    field = metric.WhichOneof("value")
    if field is None:
        return math.nan
    raw = getattr(metric, field)
    if datatype in SIGNED_BITS and isinstance(raw, int):
        bits = SIGNED_BITS[datatype]
        raw &= (1 << bits) - 1
        return float(raw - (1 << bits) if raw >= 1 << (bits - 1) else raw)
    if field == "string_value":
        try:
            value = float(raw)
        except ValueError:
            raise NotANumber(f"text {raw[:40]!r}") from None
        if not math.isfinite(value):
            raise NotANumber(f"text {raw[:40]!r}")
        return value
    if field == "bytes_value":
        raise NotANumber("bytes")
    return float(raw)


def rebirth_request(timestamp_ms: int) -> bytes:
    """An NCMD payload asking an edge node to publish its births again (spec 6.4.18: `Node Control/Rebirth`)."""
    payload = Payload(timestamp=timestamp_ms)
    payload.metrics.add(name="Node Control/Rebirth", timestamp=timestamp_ms, datatype=BOOLEAN, boolean_value=True)
    return payload.SerializeToString()
