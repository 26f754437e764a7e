"""Sparkplug B ingest: one edge node's births, data by alias, sequence numbers, deaths and its host's STATE.

An edge node (Ignition, Kepware, HighByte, a plant gateway) announces every metric with name, alias
and datatype in NBIRTH/DBIRTH and then sends NDATA/DDATA by alias only, each message numbered by a
`seq` running 0..255. So the decoder is stateful: it learns the alias map from the births, counts
every break in `seq`, and when data arrives that it cannot place (no birth seen, an alias the birth
did not announce) it asks the node to publish its births again (NCMD `Node Control/Rebirth`).

Silence is a fault: an NDEATH (the node's MQTT will, so the broker sends it the moment the node's
connection drops), a DDEATH, or the primary host's STATE going offline turns the affected sensors
OFFLINE at once, as the Modbus source does for a device that stops answering, instead of leaving the
last value standing until a timeout.

One decoder per configured edge node, shared by its routes and called only from paho's network thread.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
from google.protobuf.message import DecodeError, Message

from collector.sources.mqtt.payloads import MAX_PAYLOAD_BYTES, Decoded, Rejection
from collector.sources.mqtt.routing import Route
from collector.sources.mqtt.sparkplug_b import NotANumber, Payload, metric_value, rebirth_request
from collector.sources.mqtt.topics import TopicBinding, TopicMatch
from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import QUALITY_DTYPE, SLOT_DTYPE, TIME_DTYPE, VALUE_DTYPE, ReadingBatch
from hazwatch.config.schema import MqttDevice, MqttTopic
from hazwatch.config.sparkplug import SparkplugNode
from hazwatch.quality import Quality

log = logging.getLogger("hazwatch.sparkplug")

NAMESPACE = "spBv1.0"
BD_SEQ = "bdSeq"
SEQ_MODULO = 256
QUALITY_PROPERTY = "Quality"
"""Metric property carrying an OPC-style quality code, as Ignition and Kepware publish it."""
GOOD_QUALITY_CODE = 192
STALE_QUALITY_CODE = 500

_Target = tuple[int, int]
"""(registry slot or -1 for a metric no sensor watches, datatype from the birth)."""


@dataclass
class _Birth:
    """What the node's current NBIRTH (and the DBIRTHs after it) announced."""

    bd_seq: int | None
    seq: int
    aliases: dict[int, _Target] = field(default_factory=dict)
    names: dict[tuple[str | None, str], _Target] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)


class _Rows:
    def __init__(self) -> None:
        self.slot: list[int] = []
        self.time_ns: list[int] = []
        self.value: list[float] = []
        self.quality: list[int] = []

    def add(self, slot: int, time_ns: int, value: float, quality: int) -> None:
        self.slot.append(slot)
        self.time_ns.append(time_ns)
        self.value.append(value)
        self.quality.append(quality)

    def batch(self) -> ReadingBatch:
        return ReadingBatch(
            np.array(self.slot, dtype=SLOT_DTYPE),
            np.array(self.time_ns, dtype=TIME_DTYPE),
            np.array(self.value, dtype=VALUE_DTYPE),
            np.array(self.quality, dtype=QUALITY_DTYPE),
        )


def _offline(slots: np.ndarray, received_ns: int) -> ReadingBatch:
    return ReadingBatch.from_columns(slots, received_ns, np.full(len(slots), np.nan), Quality.OFFLINE)


def _quality(metric: Message) -> int:
    if not metric.HasField("properties"):
        return Quality.GOOD
    props = metric.properties
    for key, value in zip(props.keys, props.values, strict=False):
        if key == QUALITY_PROPERTY:
            code = value.int_value if value.HasField("int_value") else value.long_value
            if code == GOOD_QUALITY_CODE:
                return Quality.GOOD
            return Quality.OFFLINE if code == STALE_QUALITY_CODE else Quality.FAULT
    return Quality.GOOD


class SparkplugNodeDecoder:
    """The `PayloadDecoder` of every topic of one edge node (and of its primary host's STATE)."""

    def __init__(self, site: str, device_id: str, node: SparkplugNode, slots: dict[str, int]) -> None:
        self.site = site
        self.device_id = device_id
        self.node = node
        self.mapped: dict[tuple[str | None, str], int] = {
            (m.device, m.metric): slots[m.sensor] for m in node.metrics if m.sensor in slots
        }
        by_device: dict[str | None, list[int]] = {}
        for (device, _), slot in self.mapped.items():
            by_device.setdefault(device, []).append(slot)
        self.device_slots = {device: np.array(s, dtype=SLOT_DTYPE) for device, s in by_device.items()}
        self.all_slots = np.array(sorted(self.mapped.values()), dtype=SLOT_DTYPE)
        self.ncmd_topic = f"{NAMESPACE}/{node.group_id}/NCMD/{node.edge_node_id}"
        self.birth: _Birth | None = None
        self._last_rebirth = -math.inf
        self._log = RateLimitedLog(log)

    def topic_patterns(self) -> list[str]:
        """The config-style patterns of this node's messages and its devices' messages."""
        prefix = f"{NAMESPACE}/{self.node.group_id}/{{message_type}}/{self.node.edge_node_id}"
        return [prefix, prefix + "/{spb_device}"]

    # ---- dispatch ---------------------------------------------------------------------------------

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        kind = match.segments.get("message_type", "")
        if len(payload) > MAX_PAYLOAD_BYTES:
            return Decoded(ReadingBatch.empty(), [Rejection("too_large", f"{len(payload)} bytes")])
        device = match.segments.get("spb_device")
        if kind in ("NCMD", "DCMD"):
            return Decoded(ReadingBatch.empty())  # commands to the node (ours among them), not readings
        message = Payload()
        try:
            message.ParseFromString(payload)
        except DecodeError:
            return Decoded(ReadingBatch.empty(), [Rejection("not_sparkplug", f"{kind}: not a Sparkplug B payload")])
        handler = {
            "NBIRTH": self._nbirth,
            "DBIRTH": self._dbirth,
            "NDATA": self._data,
            "DDATA": self._data,
            "NDEATH": self._ndeath,
            "DDEATH": self._ddeath,
        }.get(kind)
        if handler is None:
            return Decoded(ReadingBatch.empty(), [Rejection("not_sparkplug", f"unknown message type {kind[:20]!r}")])
        return handler(message, device, received_ns)

    # ---- births -----------------------------------------------------------------------------------

    def _nbirth(self, message: Message, _device: str | None, received_ns: int) -> Decoded:
        bd_seq = next((int(m.long_value or m.int_value) for m in message.metrics if m.name == BD_SEQ), None)
        self.birth = _Birth(bd_seq=bd_seq, seq=int(message.seq))
        return self._learn(message, None, received_ns)

    def _dbirth(self, message: Message, device: str | None, received_ns: int) -> Decoded:
        if self.birth is None or device is None:
            return self._cannot_place("no_birth", f"DBIRTH of {device} before the node's NBIRTH")
        rejections = self._check_seq(message)
        self.birth.devices.add(device)
        decoded = self._learn(message, device, received_ns)
        return Decoded(decoded.batch, rejections + decoded.rejections)

    def _learn(self, message: Message, device: str | None, received_ns: int) -> Decoded:
        """Record each announced metric's alias and datatype; the birth's values are readings too."""
        assert self.birth is not None
        rows = _Rows()
        rejections: list[Rejection] = []
        announced: set[str] = set()
        for metric in message.metrics:
            if not metric.name or metric.name == BD_SEQ:
                continue
            announced.add(metric.name)
            target = (self.mapped.get((device, metric.name), -1), int(metric.datatype))
            self.birth.names[(device, metric.name)] = target
            if metric.HasField("alias"):
                self.birth.aliases[int(metric.alias)] = target
            self._add(rows, rejections, metric, target, message, received_ns)
        missing = [name for (d, name) in self.mapped if d == device and name not in announced]
        if missing:
            self._log.warning(
                f"{self.device_id}:{device}:missing",
                "sparkplug site=%s device=%s: birth of %s does not announce configured metrics %s",
                self.site,
                self.device_id,
                device or self.node.edge_node_id,
                missing[:5],
            )
        return Decoded(rows.batch(), rejections)

    # ---- data -------------------------------------------------------------------------------------

    def _data(self, message: Message, device: str | None, received_ns: int) -> Decoded:
        birth = self.birth
        if birth is None or (device is not None and device not in birth.devices):
            return self._cannot_place("no_birth", f"data from {device or self.node.edge_node_id} before its birth")
        rejections = self._check_seq(message)
        rows = _Rows()
        unknown: list[str] = []
        for metric in message.metrics:
            if metric.HasField("alias"):
                target = birth.aliases.get(int(metric.alias))
            else:
                target = birth.names.get((device, metric.name))
            if target is None:
                unknown.append(str(metric.alias) if metric.HasField("alias") else metric.name[:40])
                continue
            self._add(rows, rejections, metric, target, message, received_ns)
        if not unknown:
            return Decoded(rows.batch(), rejections)
        placed = self._cannot_place("unknown_alias", f"metrics {unknown[:5]} not in the birth")
        return Decoded(rows.batch(), rejections + placed.rejections, placed.replies)

    def _add(
        self, rows: _Rows, rejections: list[Rejection], metric: Message, target: _Target, message: Message, now: int
    ) -> None:
        slot, birth_type = target
        if slot < 0:
            return
        datatype = int(metric.datatype) or birth_type
        try:
            value = metric_value(metric, datatype)
        except NotANumber as error:
            rejections.append(Rejection("bad_value", f"{metric.name or metric.alias}: {error}"))
            return
        stamp_ms = metric.timestamp if metric.HasField("timestamp") else message.timestamp
        quality = _quality(metric)
        if math.isnan(value) and quality == Quality.GOOD:
            quality = Quality.FAULT  # a null metric: the node has no valid reading, never a number
        rows.add(slot, stamp_ms * 1_000_000 if stamp_ms else now, value, quality)

    def _check_seq(self, message: Message) -> list[Rejection]:
        """Count a break in the node's message numbering; the message itself is still used."""
        assert self.birth is not None
        expected = (self.birth.seq + 1) % SEQ_MODULO
        seq = int(message.seq)
        self.birth.seq = seq
        if seq == expected:
            return []
        metrics.SPARKPLUG_SEQ_GAPS.labels(self.site, self.device_id).inc()
        return [Rejection("seq_gap", f"seq {seq} after {(expected - 1) % SEQ_MODULO}: messages lost or reordered")]

    def _cannot_place(self, reason: str, detail: str) -> Decoded:
        """Data the decoder cannot map: reject it and, at most every `rebirth_interval`, ask for the births."""
        replies: tuple[tuple[str, bytes], ...] = ()
        now = time.monotonic()
        if now - self._last_rebirth >= self.node.rebirth_interval:
            self._last_rebirth = now
            metrics.SPARKPLUG_REBIRTHS.labels(self.site, self.device_id).inc()
            replies = ((self.ncmd_topic, rebirth_request(time.time_ns() // 1_000_000)),)
        return Decoded(ReadingBatch.empty(), [Rejection(reason, detail)], replies)

    # ---- deaths and host state --------------------------------------------------------------------

    def _ndeath(self, message: Message, _device: str | None, received_ns: int) -> Decoded:
        bd_seq = next((int(m.long_value or m.int_value) for m in message.metrics if m.name == BD_SEQ), None)
        birth = self.birth
        if birth is not None and birth.bd_seq is not None and bd_seq is not None and bd_seq != birth.bd_seq:
            log.info("sparkplug site=%s device=%s: stale NDEATH (bdSeq %s, birth %s)", self.site, self.device_id,
                     bd_seq, birth.bd_seq)  # fmt: skip
            return Decoded(ReadingBatch.empty())
        self.birth = None
        return Decoded(_offline(self.all_slots, received_ns))

    def _ddeath(self, message: Message, device: str | None, received_ns: int) -> Decoded:
        rejections: list[Rejection] = []
        if self.birth is not None and device is not None:
            rejections = self._check_seq(message)
            self.birth.devices.discard(device)
        slots = self.device_slots.get(device, np.empty(0, dtype=SLOT_DTYPE))
        return Decoded(_offline(slots, received_ns), rejections)

    def state(self, payload: bytes, received_ns: int) -> Decoded:
        """The primary host's STATE: 3.0 JSON `{"online": false, ...}` or the older text `OFFLINE`."""
        text = payload[:4096].decode("utf-8", errors="replace").strip()
        try:
            document = json.loads(text)
            online = bool(document.get("online")) if isinstance(document, dict) else None
        except ValueError:
            online = {"ONLINE": True, "OFFLINE": False}.get(text.upper())
        if online is None:
            return Decoded(ReadingBatch.empty(), [Rejection("not_sparkplug", f"STATE payload {text[:40]!r}")])
        if online:
            return Decoded(ReadingBatch.empty())
        self.birth = None  # its nodes go offline with it and publish new births when it returns
        return Decoded(_offline(self.all_slots, received_ns))


class SparkplugHostDecoder:
    """The STATE topic of one primary host, handed to every edge node bound to that host."""

    def __init__(self, nodes: list[SparkplugNodeDecoder]) -> None:
        self.nodes = nodes

    def decode(self, payload: bytes, match: TopicMatch, received_ns: int) -> Decoded:
        decoded = [node.state(payload, received_ns) for node in self.nodes]
        return Decoded(ReadingBatch.concat([d.batch for d in decoded]), decoded[0].rejections if decoded else [])


def host_state_patterns(host: str) -> list[str]:
    """Where a primary host publishes its STATE: Sparkplug 3.0 and the older namespace."""
    return [f"{NAMESPACE}/STATE/{host}", f"STATE/{host}"]


def sparkplug_routes(site: str, devices: list[MqttDevice], site_slots: dict[str, int]) -> list[Route]:
    """Routes for the Sparkplug B edge nodes among `devices`: their node and device topics, and one STATE
    route per primary host shared by every node bound to it (a topic reaches one route only)."""
    routes: list[Route] = []
    by_host: dict[str, tuple[MqttDevice, list[SparkplugNodeDecoder]]] = {}
    for device in devices:
        if device.sparkplug is None:
            continue
        decoder = SparkplugNodeDecoder(site, device.id, device.sparkplug, site_slots)
        for pattern in decoder.topic_patterns():
            routes.append(Route(_binding(site, device, pattern, site_slots), decoder))
        if device.sparkplug.primary_host:
            by_host.setdefault(device.sparkplug.primary_host, (device, []))[1].append(decoder)
    for host, (device, decoders) in by_host.items():
        host_decoder = SparkplugHostDecoder(decoders)
        for pattern in host_state_patterns(host):
            routes.append(Route(_binding(site, device, pattern, site_slots), host_decoder))
    return routes


def _binding(site: str, device: MqttDevice, pattern: str, site_slots: dict[str, int]) -> TopicBinding:
    """A binding for a topic the Sparkplug namespace fixes; built without MqttTopic's validation, which is for
    the topics a user writes (this one has no {sensor}: the births name the metrics)."""
    topic = MqttTopic.model_construct(pattern=pattern, payload="sparkplug", sensor=None)
    return TopicBinding.compile(site, device, topic, site_slots)
