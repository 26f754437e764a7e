"""Decode MQTT payloads (plain number, JSON with dot paths, gateway batch) into ReadingBatch rows.

A device can send anything: every problem becomes a `Rejection` with a short reason the source
counts and logs, never an exception and never a good value. In a gateway message each bad item is
rejected on its own so the good items of the same message still go through.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Protocol

import numpy as np

from collector.sources.mqtt.columnar import ItemKeys, SimpleRows, quality_codes, simple_rows
from collector.sources.mqtt.topics import TopicMatch
from hazwatch.batch import QUALITY_DTYPE, SLOT_DTYPE, TIME_DTYPE, VALUE_DTYPE, ReadingBatch
from hazwatch.config.schema import MqttTopic
from hazwatch.quality import Quality

MAX_PAYLOAD_BYTES = 1 << 20
"""Larger payloads are refused before parsing: no plant device sends a megabyte of readings at once."""

_MISSING = object()

QUALITY_WORDS: dict[str, Quality] = {
    **dict.fromkeys(("good", "ok", "normal", "valid", "online", "healthy"), Quality.GOOD),
    **dict.fromkeys(
        ("offline", "comm_fail", "comms_fail", "comm_failure", "comm_error", "no_comm", "disconnected", "timeout"),
        Quality.OFFLINE,
    ),
    **dict.fromkeys(
        ("fault", "bad", "error", "fail", "failure", "sensor_fault", "invalid", "out_of_range", "over_range",
         "under_range"),
        Quality.FAULT,
    ),
    **dict.fromkeys(("calibration", "cal", "calibrating", "maintenance", "test", "testing"), Quality.CALIBRATION),
    **dict.fromkeys(("pseudo", "simulated", "substituted", "manual", "forced", "estimated", "uncertain"),
                    Quality.PSEUDO),
}  # fmt: skip
"""Quality words devices use, normalised to lower case with `-` and spaces as `_`."""

_QUALITY_CODES = {int(q) for q in Quality}


class PayloadRejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    """Short, stable label counted in hazwatch_payloads_rejected{reason=...}."""
    detail: str
    slot: int | None = None
    """The sensor the refused value was for, when the topic or item names one (it feeds health.bad_value)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    batch: ReadingBatch
    rejections: list[Rejection] = field(default_factory=list)
    replies: tuple[tuple[str, bytes], ...] = ()
    """(topic, payload) the source publishes back, e.g. a Sparkplug rebirth request."""


class PayloadDecoder(Protocol):
    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded: ...


@dataclass(frozen=True, slots=True)
class DotPath:
    """`reading.value` -> obj["reading"]["value"]; a numeric part indexes a list."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, path: str) -> DotPath:
        return cls(tuple(part for part in path.split(".") if part))

    def get(self, obj: Any) -> Any:
        for part in self.parts:
            if isinstance(obj, Mapping):
                obj = obj.get(part, _MISSING)
            elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
                obj = obj[int(part)]
            else:
                return _MISSING
            if obj is _MISSING:
                return _MISSING
        return obj


_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""Decimal number text as JSON writes it: no `1_000`, no `nan`/`inf`, no non-ASCII digits, no hex."""


def parse_number_text(text: str) -> float:
    """A float from decimal number text only; Python's float() would also take `1_000`, `٣` or `infinity`."""
    stripped = text.strip()
    try:
        value = float(stripped)
    except ValueError:
        value = None
    if value is not None and not math.isfinite(value) and stripped.isascii():
        raise PayloadRejected("non_finite", f"value {text[:40]!r} is not finite")
    if value is None or not _NUMBER_TEXT.fullmatch(stripped):
        raise PayloadRejected("bad_value", f"value {text[:40]!r} is not a decimal number")
    return value


def parse_value(raw: Any, analog: bool = True, strings: bool = False) -> float:
    """A finite float from a JSON number; a bool only on a binary sensor (on an analog one it is a device's
    marker, never a measurement); number text only where the topic allows it (`value_strings`)."""
    if isinstance(raw, bool):
        if analog:
            raise PayloadRejected("bool_value", f"value {raw} is a boolean, the sensor is analog")
        return float(raw)
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:
            raise PayloadRejected("non_finite", f"value {raw} overflows a float") from None
    elif isinstance(raw, str):
        if not strings:
            raise PayloadRejected("string_value", f"value {raw[:40]!r} is text, not a JSON number")
        value = parse_number_text(raw)
    else:
        raise PayloadRejected("bad_value", f"value of type {type(raw).__name__} is not a number")
    if not math.isfinite(value):
        raise PayloadRejected("non_finite", f"value {value} is not finite")
    return value


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS_MAX = 2**63 - 1


def _epoch_ns(number: float | int) -> int:
    """Epoch seconds, ms, µs or ns, told apart by magnitude (seconds stay below 1e11 until the year 5138)."""
    if isinstance(number, int) and number > _NS_MAX:  # beyond any epoch unit, and beyond a float for math
        raise PayloadRejected("bad_time", f"time {str(number)[:40]} is out of range")
    if not math.isfinite(number) or number <= 0:
        raise PayloadRejected("bad_time", f"time {number} is not a positive epoch")
    magnitude = abs(number)
    factor = 10**9 if magnitude < 1e11 else 10**6 if magnitude < 1e14 else 10**3 if magnitude < 1e17 else 1
    # A float is read as the decimal text it was sent as (1700000000.123 s is ...123000000 ns, not ...122999906).
    ns = number * factor if isinstance(number, int) else round(Decimal(repr(number)) * factor)
    if ns > _NS_MAX:
        raise PayloadRejected("bad_time", f"time {number} is out of range")
    return int(ns)


def parse_time(raw: Any, received_ns: int, naive_tz: tzinfo) -> int:
    """Unix ns from an epoch number or an RFC 3339 string; absent time means the receive time."""
    if raw is _MISSING or raw is None:
        return received_ns
    if isinstance(raw, bool):
        raise PayloadRejected("bad_time", "time is a boolean")
    if isinstance(raw, int | float):
        return _epoch_ns(raw)
    if not isinstance(raw, str):
        raise PayloadRejected("bad_time", f"time of type {type(raw).__name__}")
    text = raw.strip()
    try:
        return _epoch_ns(float(text) if "." in text or "e" in text.lower() else int(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadRejected("bad_time", f"time {text[:40]!r} is neither an epoch nor RFC 3339") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_tz)
    ns = (moment - _EPOCH) // timedelta(microseconds=1) * 1000
    if not 0 < ns <= _NS_MAX:
        raise PayloadRejected("bad_time", f"time {text[:40]!r} is out of range")
    return ns


def parse_quality(raw: Any) -> int:
    """A Quality code from a word (good, offline, fault, cal, ...) or the integer code itself."""
    if raw is _MISSING or raw is None:
        return Quality.GOOD
    if isinstance(raw, str):
        word = raw.strip().lower().replace("-", "_").replace(" ", "_")
        if word in QUALITY_WORDS:
            return QUALITY_WORDS[word]
        raise PayloadRejected("bad_quality", f"quality {raw[:40]!r} is not a known word")
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in _QUALITY_CODES:
        return raw
    raise PayloadRejected("bad_quality", f"quality {raw!r} is not a quality code")


class _Columns:
    """Rows appended while walking one message, turned into numpy columns once at the end."""

    def __init__(self) -> None:
        self.slot: list[int] = []
        self.time_ns: list[int] = []
        self.value: list[float] = []
        self.quality: list[int] = []
        self.rejections: list[Rejection] = []

    def add(self, slot: int, time_ns: int, value: float, quality: int) -> None:
        self.slot.append(slot)
        self.time_ns.append(time_ns)
        self.value.append(value)
        self.quality.append(quality)

    def reject(self, error: PayloadRejected, slot: int | None = None) -> None:
        self.rejections.append(Rejection(error.reason, error.detail, slot))

    def decoded(self) -> Decoded:
        batch = ReadingBatch(
            np.array(self.slot, dtype=SLOT_DTYPE),
            np.array(self.time_ns, dtype=TIME_DTYPE),
            np.array(self.value, dtype=VALUE_DTYPE),
            np.array(self.quality, dtype=QUALITY_DTYPE),
        )
        return Decoded(batch, self.rejections)


def rejected(reason: str, detail: str, slot: int | None = None) -> Decoded:
    return Decoded(ReadingBatch.empty(), [Rejection(reason, detail, slot)])


def _unknown_sensor(match: TopicMatch) -> Decoded:
    return rejected("unknown_sensor", f"topic names sensor {match.sensor!r}, not one of this device's sensors")


@dataclass(frozen=True)
class NumberDecoder:
    """Plain number text, e.g. `42.5`: the reading is stamped with its receive time."""

    max_bytes: int = MAX_PAYLOAD_BYTES

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        if len(payload) > self.max_bytes:
            return rejected("too_large", f"{len(payload)} bytes", match.slot)
        if match.slot is None:
            return _unknown_sensor(match)
        try:
            value = parse_number_text(payload.decode("ascii"))
        except UnicodeDecodeError:
            return rejected("not_number", f"payload {payload[:40]!r} is not a number", match.slot)
        except PayloadRejected as error:
            reason = "not_number" if error.reason == "bad_value" else error.reason
            return rejected(reason, error.detail, match.slot)
        return Decoded(ReadingBatch.from_columns([match.slot], received_ns, [value]))


@dataclass(frozen=True)
class Fields:
    """Where value, time and quality sit in an object; time and quality fall back to the message root."""

    value: DotPath
    time: DotPath | None
    quality: DotPath | None
    naive_tz: tzinfo
    strings: bool = False
    """The topic's `value_strings`: number text such as "12.5" is read as a number."""

    @classmethod
    def of(cls, topic: MqttTopic, naive_tz: tzinfo) -> Fields:
        return cls(
            DotPath.parse(topic.value_path),
            DotPath.parse(topic.time_path) if topic.time_path else None,
            DotPath.parse(topic.quality_path) if topic.quality_path else None,
            naive_tz,
            topic.value_strings,
        )

    def _lookup(self, path: DotPath | None, item: Any, root: Any) -> Any:
        if path is None:
            return _MISSING
        found = path.get(item)
        return path.get(root) if found is _MISSING and root is not item else found

    def row(self, item: Any, root: Any, received_ns: int, analog: bool) -> tuple[int, float, int]:
        """(time ns, value, quality); a null value is kept as NaN only when the device flags it not good."""
        quality = parse_quality(self._lookup(self.quality, item, root))
        time_ns = parse_time(self._lookup(self.time, item, root), received_ns, self.naive_tz)
        raw = item if not isinstance(item, Mapping | list) else self.value.get(item)
        if raw is _MISSING or raw is None:
            if quality == Quality.GOOD:
                raise PayloadRejected("missing_value", f"no value at {'.'.join(self.value.parts)!r}")
            return time_ns, math.nan, quality
        return time_ns, parse_value(raw, analog, self.strings), quality


def load_json(payload: bytes, max_bytes: int) -> Any:
    if len(payload) > max_bytes:
        raise PayloadRejected("too_large", f"{len(payload)} bytes")
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        raise PayloadRejected("not_json", f"payload {payload[:40]!r} is not JSON") from None


@dataclass(frozen=True)
class JsonDecoder:
    """One JSON object per sensor, e.g. {"reading": {"value": 1.2, "ts": ..., "status": "ok"}}."""

    fields: Fields
    max_bytes: int = MAX_PAYLOAD_BYTES
    binary: frozenset[int] = frozenset()
    """Slots of binary sensors (door, fan state, ...): the only ones a JSON boolean is a reading of."""

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        if match.slot is None:
            return _unknown_sensor(match)
        try:
            document = load_json(payload, self.max_bytes)
            if not isinstance(document, Mapping):
                raise PayloadRejected("not_object", f"JSON {type(document).__name__}, expected an object")
            time_ns, value, quality = self.fields.row(document, document, received_ns, match.slot not in self.binary)
        except PayloadRejected as error:
            return rejected(error.reason, error.detail, match.slot)
        return Decoded(ReadingBatch.from_columns([match.slot], time_ns, [value], quality))


@dataclass(frozen=True)
class GatewayDecoder:
    """One message with many readings: `items_path` holds a list of objects or a map id -> object (or value).

    A list of flat objects (the usual gateway shape) is decoded column by column (collector/sources/mqtt/columnar.py),
    ~6x faster than item by item; the rows it cannot vouch for go through the per-item rules below.
    """

    fields: Fields
    items: DotPath
    item_id: DotPath
    slots: dict[str, int]
    max_bytes: int = MAX_PAYLOAD_BYTES
    binary: frozenset[int] = frozenset()
    """Slots of binary sensors: the only ones a JSON boolean is a reading of."""
    columnar: bool = True
    """False decodes every item one by one: the reference the columnar path is tested against."""
    _keys: ItemKeys | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", _item_keys(self.fields, self.item_id) if self.columnar else None)

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        try:
            document = load_json(payload, self.max_bytes)
        except PayloadRejected as error:
            return rejected(error.reason, error.detail)
        items = self.items.get(document) if isinstance(document, Mapping | list) else _MISSING
        if isinstance(items, Mapping):
            pairs = items.items()
        elif isinstance(items, list):
            if self._keys is not None and all(type(item) is dict for item in items):
                decoded = self._decode_columns(items, document, received_ns)
                if decoded is not None:
                    return decoded
            pairs = ((self.item_id.get(item), item) for item in items)
        else:
            return rejected("no_items", f"no list or map at {'.'.join(self.items.parts)!r}")
        columns = _Columns()
        for sensor, item in pairs:
            self._add_item(columns, sensor, item, document, received_ns)
        return columns.decoded()

    def _add_item(self, columns: _Columns, sensor: Any, item: Any, document: Any, received_ns: int) -> bool:
        """Append one item's reading or its rejection; True when a reading was added."""
        slot = self.slots.get(str(sensor)) if isinstance(sensor, str | int) else None
        if slot is None:
            columns.reject(PayloadRejected("unknown_sensor", f"item id {str(sensor)[:40]!r} is not a sensor here"))
            return False
        try:
            columns.add(slot, *self.fields.row(item, document, received_ns, slot not in self.binary))
        except PayloadRejected as error:
            columns.reject(PayloadRejected(error.reason, f"{sensor}: {error.detail}"), slot)
            return False
        return True

    def _decode_columns(self, items: list[dict], document: Any, received_ns: int) -> Decoded | None:
        assert self._keys is not None
        rows = simple_rows(
            items,
            self._keys,
            self.slots,
            FAST_QUALITIES,
            received_ns,
            _or_none(parse_time, self.fields.time, document, received_ns, self.fields.naive_tz),
            _or_none(parse_quality, self.fields.quality, document),
        )
        if rows is None:
            return None
        if not len(rows.rest):
            return Decoded(rows.batch)
        columns = _Columns()
        added = [
            int(i)
            for i in rows.rest
            if self._add_item(columns, items[i].get(self._keys.sensor, _MISSING), items[i], document, received_ns)
        ]
        merged = ReadingBatch.concat([rows.batch, columns.decoded().batch])
        order = np.argsort(np.concatenate([rows.positions, np.array(added, dtype=np.int64)]), kind="stable")
        return Decoded(merged.take(order), columns.rejections)


FAST_QUALITIES = quality_codes(QUALITY_WORDS)


def _item_keys(fields: Fields, item_id: DotPath) -> ItemKeys | None:
    """The one-level keys of id, value, time and quality, or None when a path goes deeper (per-item decoding)."""
    paths = (item_id, fields.value, fields.time, fields.quality)
    if any(path is not None and len(path.parts) != 1 for path in paths):
        return None
    time, quality = (path.parts[0] if path is not None else None for path in (fields.time, fields.quality))
    return ItemKeys(item_id.parts[0], fields.value.parts[0], time, quality)


def _or_none(parse: Any, path: DotPath | None, document: Any, *args: Any) -> Any:
    """What an item without its own time/quality gets from the message root; None when the root's is invalid."""
    try:
        return parse(path.get(document) if path is not None else _MISSING, *args)
    except PayloadRejected:
        return None


def complete_rows(
    rows: SimpleRows,
    ids: list,
    values: list,
    times: list,
    qualities: list | None,
    slots: dict[str, int],
    received_ns: int,
    rejections: list[Rejection],
    binary: frozenset[int] = frozenset(),
    strings: bool = False,
) -> Decoded:
    """`rows` (the vectorised rows) plus the rest, each accepted or rejected by the per-reading rules, in order;
    `binary` and `strings` as for `parse_value`."""
    if not len(rows.rest):
        return Decoded(rows.batch, rejections)
    columns = _Columns()
    columns.rejections = rejections
    added: list[int] = []
    for i in rows.rest.tolist():
        sensor = ids[i]
        slot = slots.get(sensor) if isinstance(sensor, str) else None
        if slot is None:
            columns.reject(PayloadRejected("unknown_sensor", f"id {str(sensor)[:40]!r} is not a sensor here"))
            continue
        try:
            quality = parse_quality(None if qualities is None else qualities[i])
            time_ns = parse_time(times[i], received_ns, UTC)
            raw = values[i]
            if raw is None and quality != Quality.GOOD:
                value = math.nan
            elif raw is None:
                raise PayloadRejected("missing_value", "no value")
            else:
                value = parse_value(raw, slot not in binary, strings)
        except PayloadRejected as error:
            columns.reject(PayloadRejected(error.reason, f"{sensor}: {error.detail}"), slot)
            continue
        columns.add(slot, time_ns, value, quality)
        added.append(i)
    merged = ReadingBatch.concat([rows.batch, columns.decoded().batch])
    order = np.argsort(np.concatenate([rows.positions, np.array(added, dtype=np.int64)]), kind="stable")
    return Decoded(merged.take(order), columns.rejections)
