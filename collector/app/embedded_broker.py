"""An in-process MQTT broker (amqtt) for the demo on machines without mosquitto.

amqtt speaks MQTT 3.1.1 only (an MQTT 5 CONNECT with properties is not even answered), so clients
must connect with `EmbeddedBroker.protocol`: `mqtt_sources(config, registry, broker.url,
protocol=broker.protocol)`. It keeps nothing across restarts: good enough for a demo, not for
production (use Mosquitto, EMQX or HiveMQ there).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from amqtt.broker import Broker

from collector.app.localservices import free_port


@dataclass(frozen=True, slots=True)
class EmbeddedBroker:
    host: str
    port: int
    protocol: str = "3.1.1"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@asynccontextmanager
async def embedded_broker(port: int | None = None) -> AsyncIterator[EmbeddedBroker]:
    """Serve MQTT on 127.0.0.1 (a free port unless given) until the block exits."""
    address = EmbeddedBroker("127.0.0.1", port or free_port())
    logging.getLogger("amqtt").setLevel(logging.WARNING)  # amqtt logs every connection at INFO
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{address.host}:{address.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    try:
        yield address
    finally:
        await broker.shutdown()
