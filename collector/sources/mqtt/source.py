"""MqttSource: subscribe to every site's configured topics on one broker and emit decoded ReadingBatches.

One connection and one paho thread serve all sites: a province has thousands, and a client thread
per site starved the asyncio loop of the GIL. paho-mqtt runs its network loop in that thread, with a
persistent session (QoS 1 messages published while hazwatch was away are delivered when it returns),
and reconnects with exponential backoff capped at 1 s, so the first reading after a broker restart
arrives within seconds, not after a 30-s wait. Messages are acknowledged by hand, in the order they came,
only once their readings are in the write-ahead log (`emit(..., on_durable=)`): a message hazwatch dies
holding is delivered again by the broker. Payloads are decoded in paho's thread; finished batches are
handed to the asyncio loop with `call_soon_threadsafe`, coalesced while the loop is busy, so a burst
of messages becomes one batch for the detectors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.pipeline.protocols import Emit
from collector.sources.mqtt.decoders import decoder_for
from collector.sources.mqtt.payloads import Rejection
from collector.sources.mqtt.routing import Route, RouteTable
from collector.sources.mqtt.sparkplug import sparkplug_routes
from collector.sources.mqtt.topics import TopicBinding
from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import ReadingBatch
from hazwatch.config.kinds import BINARY_KINDS
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig, MqttDevice, MqttSettings
from hazwatch.credentials import read_secret, remember
from hazwatch.tls import TlsFiles

log = logging.getLogger("hazwatch.mqtt")

MqttProtocol = Literal["5", "3.1.1"]
SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the broker keeps our MQTT 5 session (subscriptions and queued QoS 1 messages) while we are away."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_files: TlsFiles = field(default_factory=TlsFiles)

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> BrokerAddress:
    """mqtt://[user:password@]host[:port] (1883) or mqtts://... (8883, TLS); a bare host:port means mqtt://."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"MQTT URL {url!r} names no host")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"MQTT URL {url!r} has an invalid port") from None
    password = unquote(parts.password) if parts.password else None
    if password:
        remember(password)
    return BrokerAddress(parts.hostname, port, tls, unquote(parts.username) if parts.username else None, password)


def configure_client(client: paho.Client, address: BrokerAddress) -> None:
    """Credentials and TLS of `address` on a paho client: the one way the collector's MQTT clients connect."""
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set_context(address.tls_files.context())


SUBSCRIBE_CHUNK = 500
"""Filters per SUBSCRIBE packet: a province's thousands of site topics stay under brokers' packet limits."""


class MqttSource:
    """One broker connection carrying the topics of every site's MQTT devices."""

    def __init__(
        self,
        name: str,
        address: BrokerAddress,
        client_id: str,
        routes: Sequence[Route],
        protocol: MqttProtocol = "5",
        session_expiry: int = SESSION_EXPIRY_S,
        reconnect_min_delay: float = 0.5,
        reconnect_max_delay: float = 1.0,
        keepalive: int = 30,
    ) -> None:
        self.name = name
        self.address = address
        self.client_id = client_id
        self.routes = RouteTable(routes)
        self.protocol = protocol
        self.session_expiry = session_expiry
        self.reconnect_min_delay = reconnect_min_delay
        self.reconnect_max_delay = reconnect_max_delay
        self.keepalive = keepalive
        self._rejects = RateLimitedLog(log)
        self._connection_log = RateLimitedLog(log)
        self._lock = threading.Lock()
        self._pending: list[ReadingBatch] = []
        self._refused_slots: list[int] = []
        """Slots of values refused since the last flush, for health.bad_value (paho's thread appends)."""
        self._acks: list[tuple[int, int]] = []
        """(mid, qos) of the messages behind `_pending`, acknowledged once their readings are durable."""
        self._client: paho.Client | None = None
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._emit: Emit | None = None
        self._unacknowledged: dict[int, list[str]] = {}
        """SUBSCRIBE packet id -> its filters until the broker answers; connected once none is left (paho's thread)."""
        self._refused = False

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        """Distinct filters with the highest QoS any device asks for on them."""
        qos: dict[str, int] = {}
        for route in self.routes.routes:
            qos[route.binding.subscription] = max(qos.get(route.binding.subscription, 0), route.binding.qos)
        return sorted(qos.items())

    async def run(self, emit: Emit) -> None:
        self._loop = asyncio.get_running_loop()
        self._emit = emit
        client = self._start()
        try:
            await asyncio.Future()
        finally:
            await asyncio.to_thread(self._stop, client)
            metrics.MQTT_CONNECTED.labels(self.name).set(0)
            self._flush()  # batches decoded (and acknowledged) but not yet handed over: the pipeline drains them

    def _start(self) -> paho.Client:
        v5 = self.protocol == "5"
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if v5 else False,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            manual_ack=True,
        )
        self._client = client
        configure_client(client, self.address)
        client.reconnect_delay_set(self.reconnect_min_delay, self.reconnect_max_delay)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        if v5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self.session_expiry
            client.connect_async(
                self.address.host, self.address.port, self.keepalive, clean_start=False, properties=properties
            )
        else:
            client.connect_async(self.address.host, self.address.port, self.keepalive)
        client.loop_start()
        return client

    @staticmethod
    def _stop(client: paho.Client) -> None:
        client.disconnect()
        client.loop_stop()

    def _call_in_loop(self, callback: Any, *args: Any) -> None:
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed while paho still delivered: shutting down
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_connect(self, client: paho.Client, _userdata: Any, flags: Any, reason: Any, _properties: Any) -> None:
        if reason.is_failure:
            metrics.MQTT_CONNECTED.labels(self.name).set(0)
            hint = " (set mqtt.protocol: '3.1.1' for this broker)" if reason == "Unsupported protocol version" else ""
            self._connection_log.error(
                "refused", "source=%s broker=%s refused the connection: %s%s", self.name, self.address, reason, hint
            )
            return
        log.info(
            "source=%s connected to %s as %s (MQTT %s, session present=%s)",
            self.name,
            self.address,
            self.client_id,
            self.protocol,
            flags.session_present,
        )
        subscriptions = self.subscriptions
        self._unacknowledged.clear()
        self._refused = False
        for start in range(0, len(subscriptions), SUBSCRIBE_CHUNK):
            chunk = subscriptions[start : start + SUBSCRIBE_CHUNK]
            _, mid = client.subscribe(chunk)
            self._unacknowledged[mid] = [topic for topic, _ in chunk]

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        metrics.MQTT_CONNECTED.labels(self.name).set(0)
        if reason != 0:
            self._connection_log.warning(
                "disconnected", "source=%s lost %s (%s); reconnecting with backoff", self.name, self.address, reason
            )

    def _on_subscribe(self, _client: Any, _userdata: Any, mid: int, reasons: list[Any], _properties: Any) -> None:
        topics = self._unacknowledged.pop(mid, [])
        refused = [(topic, reason) for topic, reason in zip(topics, reasons, strict=False) if reason.is_failure]
        self._refused = self._refused or bool(refused)
        for topic, reason in refused:
            self._connection_log.error(
                f"subscribe:{topic}", "source=%s broker refused subscription %s: %s", self.name, topic, reason
            )
        if not self._unacknowledged:
            metrics.MQTT_CONNECTED.labels(self.name).set(0 if self._refused else 1)

    def _on_message(self, client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        """Runs in paho's thread: decode here so the asyncio loop only receives finished batches."""
        received_ns = time.time_ns()
        topic = message.topic
        found = self.routes.find(topic)
        if found is None:
            self._reject(Rejection("unmatched_topic", "no configured pattern fits"), "-", "-", topic)
            self._hand_over(None, message)
            return
        route, match = found
        site, device = route.binding.site, route.binding.device.id
        try:
            decoded = route.decoder.decode(message.payload, match, received_ns)
        except Exception as error:  # a decoder bug must not kill paho's thread and silence the sites
            log.exception("source=%s topic=%s decoder failed", self.name, topic)
            self._reject(Rejection("decoder_error", repr(error)), site, device, topic)
            self._hand_over(None, message)
            return
        for rejection in decoded.rejections:
            self._reject(rejection, site, device, topic)
        for reply_topic, body in decoded.replies:
            client.publish(reply_topic, body, qos=0)
        refused = [r.slot for r in decoded.rejections if r.slot is not None]
        self._hand_over(decoded.batch if len(decoded.batch) else None, message, refused)

    def _reject(self, rejection: Rejection, site: str, device: str, topic: str) -> None:
        metrics.PAYLOADS_REJECTED.labels(self.name, rejection.reason).inc()
        self._rejects.warning(
            f"{site}:{device}:{rejection.reason}",
            "source=%s site=%s device=%s topic=%s payload rejected (%s): %s",
            self.name,
            site,
            device,
            topic,
            rejection.reason,
            rejection.detail,
        )

    def _hand_over(self, batch: ReadingBatch | None, message: paho.MQTTMessage, refused: Sequence[int] = ()) -> None:
        """Queue a message's readings (None when it had none), the slots of the values it refused, and its
        acknowledgement, in arrival order."""
        with self._lock:
            if batch is not None:
                self._pending.append(batch)
            self._refused_slots += refused
            if message.qos > 0:
                self._acks.append((message.mid, message.qos))
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        self._call_in_loop(self._flush)

    def _flush(self) -> None:
        with self._lock:
            batches, self._pending = self._pending, []
            refused, self._refused_slots = self._refused_slots, []
            acks, self._acks = self._acks, []
            self._flush_scheduled = False
        if not batches and not acks and not refused:
            return
        batch = ReadingBatch.concat(batches)
        metrics.READINGS_INGESTED.labels(self.name).inc(len(batch))
        if self._emit is not None:
            refused_slots = np.array(refused, dtype=np.int64) if refused else None
            self._emit(batch, refused_slots, self._acknowledger(acks) if acks else None)

    def _acknowledger(self, acks: list[tuple[int, int]]) -> Any:
        client = self._client

        def acknowledge() -> None:
            for mid, qos in acks:
                client.ack(mid, qos)

        return acknowledge


def _site_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: timestamps without an offset are read as UTC", name)
        return ZoneInfo("UTC")


def broker_address(settings: MqttSettings, url: str | None = None) -> BrokerAddress:
    """The broker of `url` (else the config's) with the config's TLS files; credentials in the URL win,
    otherwise they come from the environment variables (the password also from `password_file`)."""
    address = parse_mqtt_url(url or settings.url)
    tls_files = TlsFiles(settings.ca_file, settings.cert_file, settings.key_file)
    username, password = address.username, address.password
    if username is None:
        username = os.environ.get(settings.username_env) if settings.username_env else None
        password = read_secret(settings.password_env, settings.password_file) if username is not None else None
    return BrokerAddress(address.host, address.port, address.tls, username, password, tls_files)


def mqtt_sources(
    config: HazwatchConfig,
    registry: SensorRegistry,
    broker_url: str | None = None,
    protocol: MqttProtocol | None = None,
) -> list[MqttSource]:
    """The MqttSource for every site's MQTT devices on `broker_url` (else the config's) speaking `protocol`
    (else the config's), or none when no site has MQTT devices. The demo passes the embedded broker's URL
    and its protocol, 3.1.1. A list, so `hazwatch run` can treat it like the Modbus sources."""
    settings = config.mqtt
    address = broker_address(settings, broker_url)
    routes: list[Route] = []
    binary = frozenset(slot for slot, info in enumerate(registry.sensors) if info.kind in BINARY_KINDS)
    for site in config.sites:
        devices = [d for d in site.devices if isinstance(d, MqttDevice)]
        if not devices:
            continue
        site_slots = registry.slots_of_site(site.id)
        zone = _site_zone(site.timezone)
        for device in devices:
            for topic in device.topics:
                binding = TopicBinding.compile(site.id, device, topic, site_slots)
                routes.append(Route(binding, decoder_for(topic, binding.slots, zone, binary=binary)))
        routes += sparkplug_routes(site.id, devices, site_slots)
    if not routes:
        return []
    return [
        MqttSource(
            name="mqtt",
            address=address,
            client_id=settings.client_id,
            routes=routes,
            protocol=protocol or settings.protocol,
        )
    ]
