"""The simulated plant publishing over MQTT in a thread, counting per sensor what the broker acknowledged."""

from __future__ import annotations

import threading
import time
from collections import Counter

from hazwatch.config import HazwatchConfig
from hazwatch.quality import Quality
from simulators.mqtt_publisher import MqttSitePublisher
from simulators.physics.presets import plant_preset


class CountingPlant:
    """Publishes a round every `interval` s until stopped; `served` holds readings per sensor id."""

    def __init__(self, config: HazwatchConfig, url: str, interval: float = 0.5, seed: int = 5) -> None:
        site = config.sites[0]
        self.publisher = MqttSitePublisher(site, plant_preset(site, seed=seed), url)
        self.sensors = self.publisher.model.sensors
        self.number_only = {
            i for pub in self.publisher.publications if pub.topic.payload == "number" for i in pub.indices
        }
        """Sensors whose plain-number topic carries good readings only (a bad one is not published)."""
        self.interval = interval
        self.served: Counter[str] = Counter()
        self.rounds = 0
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def start(self) -> None:
        self.publisher.connect()
        self._started = time.monotonic()
        self._thread.start()

    def pause(self) -> None:
        """Stop publishing until `resume()`, once the broker acknowledged everything published so far."""
        self._running.clear()
        time.sleep(self.interval * 2)
        self.publisher.flush(timeout=30)

    def resume(self) -> None:
        self._running.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._running.wait(0.1):
                continue
            served = self.publisher.publish_sample(time.monotonic() - self._started)
            for i, sensor in enumerate(self.sensors):
                if i not in self.number_only or served.quality[i] == Quality.GOOD:
                    self.served[sensor] += 1
            self.rounds += 1
            self._stop.wait(self.interval)

    def stop(self) -> Counter[str]:
        """Stop publishing and wait until the broker acknowledged every message; returns what was served."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
            self.publisher.close(timeout=30)
        return self.served
