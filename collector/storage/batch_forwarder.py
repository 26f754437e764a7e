"""The edge role's reading sink: normalised reading batches to MQTT, one columnar message per unit and flush.

`hazwatch run --role edge` near the devices polls and decodes them and hands the batches to core detector
workers through the broker (hazwatch/batchwire.py) instead of detecting and storing itself; `--publish-batches`
does it as well as processing. Batches are coalesced for `flush_interval` seconds (a province edge sends a few
messages a second, not one per reading), split by partition unit so each core worker receives only its own,
and published with QoS 1 by paho's own thread: the detection loop never waits for the broker. While the broker
is away, paho queues up to `max_queued` messages; beyond that the oldest readings are dropped and counted, and
the core workers' dead-man rules raise the silence as alarms (never a false all-clear).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from urllib.parse import urlparse

import numpy as np
import paho.mqtt.client as paho

from collector.telemetry import metrics
from collector.telemetry.logs import RateLimitedLog
from hazwatch.batch import ReadingBatch
from hazwatch.batchwire import encode, unit_topic
from hazwatch.config.partition import unit_keys
from hazwatch.config.registry import SensorRegistry
from hazwatch.config.schema import HazwatchConfig

log = logging.getLogger("hazwatch.edge")


class BatchForwarder:
    def __init__(
        self,
        config: HazwatchConfig,
        registry: SensorRegistry,
        flush_interval: float = 0.2,
        max_queued: int = 10_000,
        client_id_suffix: str = "-edge",
    ) -> None:
        settings = config.mqtt
        self.flush_interval = flush_interval
        keys = unit_keys(config)
        unit_names = sorted(set(keys.values()))
        number = {key: i for i, key in enumerate(unit_names)}
        self.unit_of = np.array([number[keys[(s.site, s.sensor)]] for s in registry], dtype=np.int64)
        self.topics = [unit_topic(settings.batch_topic_prefix, key) for key in unit_names]
        self.sites = [key.split("/", 1)[0] for key in unit_names]
        self.sensor_ids = [s.sensor for s in registry]
        self._pending: list[ReadingBatch] = []
        self._problems = RateLimitedLog(log)
        url = urlparse(settings.url if "://" in settings.url else f"mqtt://{settings.url}")
        tls = url.scheme in ("mqtts", "ssl")
        self._host, self._port = url.hostname or "127.0.0.1", url.port or (8883 if tls else 1883)
        self._inflight: list[paho.MQTTMessageInfo] = []
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=settings.client_id + client_id_suffix,
            protocol=paho.MQTTv5 if settings.protocol == "5" else paho.MQTTv311,
        )
        self.client.max_queued_messages_set(max_queued)
        if tls:
            self.client.tls_set()
        user = os.environ.get(settings.username_env or "", "")
        if user:
            self.client.username_pw_set(user, os.environ.get(settings.password_env or "", "") or None)
        self.client.reconnect_delay_set(0.5, 30)
        self._started = False

    def submit(self, batch: ReadingBatch) -> None:
        if len(batch):
            self._pending.append(batch)

    async def run(self) -> None:
        self._start()
        while True:
            await asyncio.sleep(self.flush_interval)
            self.flush()

    async def close(self) -> None:
        self.flush()
        if self._started:
            await asyncio.to_thread(self._drain_and_stop)

    def flush(self) -> int:
        """Publish what is pending, one message per unit; returns how many messages."""
        if not self._pending:
            return 0
        self._start()
        batch, self._pending = ReadingBatch.concat(self._pending), []
        units = self.unit_of[batch.slot]
        order = np.argsort(units, kind="stable")
        bounds = np.flatnonzero(np.diff(units[order])) + 1
        self._inflight = [info for info in self._inflight if not info.is_published()]
        for rows in np.split(order, bounds):
            unit = int(units[rows[0]])
            present, index = np.unique(batch.slot[rows], return_inverse=True)
            payload = encode(
                self.sites[unit],
                [self.sensor_ids[slot] for slot in present.tolist()],
                index,
                batch.time_ns[rows],
                batch.value[rows],
                batch.quality[rows],
            )
            info = self.client.publish(self.topics[unit], payload, qos=1)
            if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
                metrics.BATCH_READINGS_DROPPED.inc(len(rows))
                self._problems.warning("publish", "edge batch of %d readings not queued: %s", len(rows), info.rc)
                continue
            self._inflight.append(info)
            metrics.BATCH_READINGS_PUBLISHED.inc(len(rows))
        return len(bounds) + 1

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self.client.connect_async(self._host, self._port, keepalive=30)
            self.client.loop_start()

    def _drain_and_stop(self, timeout: float = 10.0) -> None:
        """On shutdown, give the queued QoS 1 messages `timeout` seconds to be acknowledged, then disconnect."""
        deadline = time.monotonic() + timeout
        for info in self._inflight:
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        self.client.disconnect()
        self.client.loop_stop()
