"""The in-process broker the demo falls back to when mosquitto is not installed."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import paho.mqtt.client as paho

from collector.app.embedded_broker import embedded_broker
from collector.sources.mqtt import mqtt_sources
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, SensorRegistry
from simulators.mqtt_publisher import MqttSitePublisher
from simulators.physics.presets import plant_preset
from tests.support.emitters import Collected
from tests.support.waiting import metric


async def _until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def test_a_paho_client_publishes_and_receives_through_the_embedded_broker() -> None:
    async def scenario() -> list[tuple[str, bytes, int]]:
        received: list[tuple[str, bytes, int]] = []
        async with embedded_broker() as broker:
            assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
            client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="probe", protocol=paho.MQTTv311)
            client.on_message = lambda _c, _u, m: received.append((m.topic, m.payload, m.qos))
            client.on_connect = lambda c, *_: c.subscribe("plant/#", qos=1)
            client.connect_async("127.0.0.1", broker.port)
            client.loop_start()
            try:
                await _until(client.is_connected, 5, "connection")
                await asyncio.sleep(0.2)  # let the SUBACK land
                info = client.publish("plant/tanks/T201-LT/pv", b"42.5", qos=1)
                await _until(info.is_published, 5, "PUBACK")
                await _until(lambda: received, 5, "the message back")
            finally:
                client.disconnect()
                client.loop_stop()
        return received

    assert asyncio.run(scenario()) == [("plant/tanks/T201-LT/pv", b"42.5", 1)]


def test_the_demo_collector_reads_every_plant_sensor_through_the_embedded_broker(
    plant_config: HazwatchConfig, plant_registry: SensorRegistry
) -> None:
    """The demo's fallback path: simulator -> amqtt -> MqttSource, with the protocol the broker speaks."""

    async def scenario() -> tuple[ReadingBatch, np.ndarray]:
        batches = Collected()
        async with embedded_broker() as broker:
            (source,) = mqtt_sources(plant_config, plant_registry, broker.url, protocol=broker.protocol)
            task = asyncio.create_task(source.run(batches))
            await _until(lambda: metric("hazwatch_mqtt_connected", source=source.name) == 1, 15, "subscription")
            site = plant_config.sites[0]
            publisher = MqttSitePublisher(site, plant_preset(site, seed=3), broker.url)
            await asyncio.to_thread(publisher.connect)
            served = publisher.publish_sample(0.0)
            await _until(lambda: sum(map(len, batches)) >= len(plant_registry), 10, "every sensor")
            await asyncio.to_thread(publisher.close)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return ReadingBatch.concat(batches), served.values

    batch, served_values = asyncio.run(scenario())
    order = np.argsort(batch.slot)
    assert batch.slot[order].tolist() == list(range(len(plant_registry)))
    assert np.array_equal(batch.value[order], served_values)
