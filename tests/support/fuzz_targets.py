"""Fuzz targets and their invariants, shared by the short hypothesis tests (tests/fuzz/) and the long run
(`python -m tests.support.fuzz --inputs 1000000`).

Each target takes one input and raises AssertionError when an invariant breaks:

- no crash: decoders, the config loader and the API answer every input (a rejection, a ConfigError, a 4xx);
- nothing stored as good that was not a valid reading: every GOOD row an MQTT decoder produces is traced back,
  by an oracle written here independently of the decoder, to a JSON number (a boolean only on a binary sensor,
  number text only where the topic allows it) of that sensor in the payload, and is finite;
- a year-2200 reading never becomes a sensor's current value: decoded batches go through the real intake
  check, detector stack and status view, and no sensor's newest reading is ever beyond the time window.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from collector.alarms.actions import MAX_COMMENT_CHARS, MAX_USER_CHARS
from collector.pipeline.detection import build_detector_stack
from collector.pipeline.intake import IntakeCheck
from collector.sources.modbus.decode import decode_response
from collector.sources.modbus.plan import ReadRequest, plan_requests
from collector.sources.mqtt.decoders import decoder_for
from collector.sources.mqtt.payloads import Decoded, GatewayDecoder
from collector.sources.mqtt.topics import TopicMatch
from collector.views.status import StatusView
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.batch import ReadingBatch
from hazwatch.config import ConfigError, HazwatchConfig, SensorRegistry, load_config
from hazwatch.config.examples import EXAMPLES
from hazwatch.config.intake import IntakeSettings
from hazwatch.config.kinds import BINARY_KINDS
from hazwatch.config.loader import parse_config_bytes
from hazwatch.config.schema import ModbusDevice, MqttTopic
from hazwatch.quality import Quality

NOW_NS = 1_800_000_000 * 10**9
"""The collector's clock during a fuzz run (fixed, so a run can be repeated from its seed)."""
YEAR_2200_S = 7_258_118_400
INTAKE = IntakeSettings()
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

PLANT = load_config(EXAMPLES / "chemical-plant.yaml")
PLANT_REGISTRY = SensorRegistry.from_config(PLANT)
MINE = load_config(EXAMPLES / "coal-mine.yaml")
MINE_REGISTRY = SensorRegistry.from_config(MINE)
SITE = PLANT.sites[0].id
SLOTS = PLANT_REGISTRY.slots_of_site(SITE)
BINARY = frozenset(i for i, s in enumerate(PLANT_REGISTRY.sensors) if s.kind in BINARY_KINDS)
SENSORS = sorted(SLOTS)


# ---- MQTT payloads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayloadForm:
    name: str
    topic: MqttTopic

    @property
    def decoder(self):
        return decoder_for(self.topic, SLOTS, binary=BINARY)


FORMS = [
    PayloadForm("number", MqttTopic(pattern="t/{sensor}", payload="number", time_path=None, quality_path=None)),
    PayloadForm("json", MqttTopic(pattern="t/{sensor}", payload="json", value_path="reading.value",
                                  time_path="reading.ts", quality_path="reading.status")),
    PayloadForm("json_text", MqttTopic(pattern="t/{sensor}", payload="json", value_path="v", time_path="t",
                                       quality_path="q", value_strings=True)),
    PayloadForm("gateway", MqttTopic(pattern="gw", payload="gateway", items_path="points", id_path="id",
                                     value_path="v", time_path="ts", quality_path="q")),
    PayloadForm("gateway_deep", MqttTopic(pattern="gw", payload="gateway", items_path="data.points",
                                          id_path="meta.id", value_path="r.v", time_path="r.ts", quality_path="q")),
    PayloadForm("influx", MqttTopic(pattern="telegraf", payload="influx")),
    PayloadForm("thingsboard", MqttTopic(pattern="tb", payload="thingsboard")),
]  # fmt: skip
LOOSE_ORACLE = {"influx", "thingsboard"}
"""Forms whose GOOD values are only checked to appear as a number in the payload (not traced to their sensor)."""
NUMBER_TOKEN = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
FORM_BY_NAME = {f.name: f for f in FORMS}


def _get(obj: Any, path: str) -> Any:
    """The oracle's own dot-path lookup (a digit part indexes a list)."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def _as_reading(raw: Any, slot: int, text_allowed: bool) -> float | None:
    """What `raw` is worth as a GOOD reading of `slot` by the documented rules, or None when it is none."""
    if isinstance(raw, bool):
        return float(raw) if slot in BINARY else None
    if isinstance(raw, int | float):
        try:
            value = float(raw)
        except OverflowError:
            return None
        return value if math.isfinite(value) else None
    if isinstance(raw, str) and text_allowed and NUMBER_TEXT.fullmatch(raw.strip()):
        value = float(raw.strip())
        return value if math.isfinite(value) else None
    return None


def _numbers_in(payload: bytes, form: PayloadForm) -> set[float]:
    """Every number the payload holds as a number: JSON number leaves (not booleans, not text), or the
    numeric tokens of line protocol outside quoted strings."""
    if form.topic.payload == "thingsboard":
        try:
            document = json.loads(payload)
        except (ValueError, RecursionError):
            return set()
        found: set[float] = set()
        stack = [document]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, int | float) and not isinstance(node, bool):
                with contextlib.suppress(OverflowError):  # a 400-digit integer is no reading
                    found.add(float(node))
        return found
    text = re.sub(r'="(?:[^"\\\n]|\\.)*"', "= ", payload.decode("utf-8", "replace"))  # string field values
    return {float(token) for token in NUMBER_TOKEN.findall(text)}


def _supports(form: PayloadForm, payload: bytes, match: TopicMatch) -> dict[int, set[float]]:
    """slot -> the values the payload validly holds for it (what a GOOD row may carry)."""
    topic = form.topic
    if form.name in LOOSE_ORACLE:
        numbers = _numbers_in(payload, form)
        return {slot: numbers | {0.0, 1.0} if slot in BINARY else numbers for slot in SLOTS.values()}
    if topic.payload == "number":
        try:
            text = payload.decode("ascii").strip()
        except UnicodeDecodeError:
            return {}
        if match.slot is None or not NUMBER_TEXT.fullmatch(text) or not math.isfinite(float(text)):
            return {}
        return {match.slot: {float(text)}}
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        return {}
    found: dict[int, set[float]] = {}
    if topic.payload == "json":
        if match.slot is not None and isinstance(document, dict):
            value = _as_reading(_get(document, topic.value_path), match.slot, topic.value_strings)
            if value is not None:
                found[match.slot] = {value}
        return found
    items = _get(document, topic.items_path) if isinstance(document, dict) else None
    pairs = items.items() if isinstance(items, dict) else [(_get(i, topic.id_path), i) for i in items or []
                                                             if isinstance(items, list)]  # fmt: skip
    for sensor, item in pairs:
        slot = SLOTS.get(sensor) if isinstance(sensor, str) else None
        if slot is None:
            continue
        raw = _get(item, topic.value_path) if isinstance(item, dict | list) else item
        value = _as_reading(raw, slot, topic.value_strings)
        if value is not None:
            found.setdefault(slot, set()).add(value)
    return found


def check_payload(form_name: str, payload: bytes, sensor: str | None) -> Decoded:
    """One payload through one decoder: no exception, and every GOOD row is a valid reading of the payload."""
    form = FORM_BY_NAME[form_name]
    match = TopicMatch({"sensor": sensor or ""}, SLOTS.get(sensor) if sensor else None, sensor)
    decoded = form.decoder.decode(payload, match, NOW_NS)
    batch = decoded.batch
    good = batch.quality == Quality.GOOD
    assert np.all(np.isfinite(batch.value[good])), "a GOOD reading that is not a finite number"
    assert np.all(batch.time_ns > 0), "a reading with a non-positive time"
    assert np.isin(batch.quality, [int(q) for q in Quality]).all(), "an unknown quality code"
    if good.any():
        support = _supports(form, payload, match)
        for slot, value in zip(batch.slot[good].tolist(), batch.value[good].tolist(), strict=True):
            assert value in support.get(slot, ()), f"GOOD {value!r} for slot {slot} is not in the payload as a reading"
    if isinstance(form.decoder, GatewayDecoder):
        reference = GatewayDecoder(form.decoder.fields, form.decoder.items, form.decoder.item_id, SLOTS,
                                   binary=BINARY, columnar=False).decode(payload, match, NOW_NS)  # fmt: skip
        for column in ("slot", "time_ns", "quality"):
            assert np.array_equal(getattr(batch, column), getattr(reference.batch, column)), column
        assert np.array_equal(batch.value, reference.batch.value, equal_nan=True), "columnar != per item"
        assert sorted(r.reason for r in decoded.rejections) == sorted(r.reason for r in reference.rejections)
    return decoded


@dataclass
class CurrentValueWatch:
    """The real intake check, detector stack and status view, fed decoded batches: no sensor's current
    value may ever be a reading stamped beyond the intake window (a year-2200 reading)."""

    intake: IntakeCheck = field(default_factory=lambda: IntakeCheck(INTAKE))
    stack: Any = field(default_factory=lambda: build_detector_stack(PLANT_REGISTRY, PLANT, AlarmLifecycle()))
    view: StatusView = field(default_factory=lambda: StatusView(PLANT_REGISTRY.sensors))
    readings: int = 0

    def feed(self, batch: ReadingBatch, now_ns: int = NOW_NS) -> None:
        screened = self.intake.screen(batch, now_ns)
        accepted = screened.accepted
        self.stack.update(accepted)
        if len(screened.clock_refused):
            self.stack.refused(screened.clock_refused, now_ns)
        self.view.submit(accepted)
        self.readings += len(accepted)
        limit = now_ns + int(INTAKE.max_future_s * 1e9)
        assert accepted.time_ns.max(initial=0) <= limit, "the intake check let a future reading through"
        assert self.view.time_ns.max() <= limit, "a future reading became a sensor's current value (status view)"
        assert self.stack._newest.max() <= limit, "a future reading became a sensor's newest reading (detectors)"


# ---- Modbus responses ------------------------------------------------------------------------------

MODBUS_REQUESTS: list[ReadRequest] = [
    request
    for site in MINE.sites
    for device in site.devices
    if isinstance(device, ModbusDevice)
    for request in plan_requests(device, MINE_REGISTRY.slots_of_site(site.id))
]


def check_modbus(request_index: int, words: list[int]) -> None:
    """A whole response of the right length (the poller refuses shorter ones before decoding)."""
    request = MODBUS_REQUESTS[request_index % len(MODBUS_REQUESTS)]
    data = (words * (request.count // max(len(words), 1) + 1))[: request.count] if words else [0] * request.count
    if request.is_bits:
        data = [w & 1 for w in data]
    values, quality = decode_response(request, data)
    assert len(values) == len(quality) == len(request.sensors)
    good = quality == Quality.GOOD
    assert np.all(np.isfinite(values[good])), "a GOOD Modbus value that is not finite"
    assert np.all(np.isnan(values[quality == Quality.FAULT])), "a FAULT Modbus value carries a number"


# ---- config loader -------------------------------------------------------------------------------

CONFIG_SEED = (EXAMPLES / "chemical-plant.yaml").read_bytes()


def check_config(raw: bytes) -> HazwatchConfig | None:
    """Any bytes: a config or a ConfigError with at least one problem, within a second or two."""
    started = time.monotonic()
    try:
        config = parse_config_bytes(raw, "fuzz.yaml")
    except ConfigError as error:
        assert error.problems, "a ConfigError without a problem"
        config = None
    assert time.monotonic() - started < 5, f"the loader took {time.monotonic() - started:.1f} s"
    return config


# ---- operator API --------------------------------------------------------------------------------


def check_api_answer(response: httpx.Response, body: bytes) -> None:
    assert response.status_code < 500, f"{response.status_code} for body {body[:80]!r}"
    if response.status_code == 200:
        document = json.loads(body)
        user = document["user"]
        assert isinstance(user, str) and 0 < len(user.strip()) <= MAX_USER_CHARS
        comment = document.get("comment")
        assert comment is None or (isinstance(comment, str) and len(comment) <= MAX_COMMENT_CHARS)
