"""The simulated plant publishing over MQTT from its own process, counting per sensor what the broker acknowledged.

Its own process, so that the load it offers does not share a GIL with the test's other threads (Modbus
servers, webhook receiver): on a 2-core machine one Python thread publishing 25 messages a round and then
sleeping the interval reached about 150 rounds/s, half the 10 k readings/s the soak asks for. Rounds keep a
schedule (a round late is published at once, up to one second of backlog, then the schedule starts again), and
each round's stamp is one millisecond past the previous one at least, so that two rounds never share a point
in InfluxDB.

A reading counts as served only once the broker acknowledged its QoS 1 message: what paho still held when
the plant stopped (a broker too slow to take it) is reported as `unacknowledged`, not as served. At most
`_MAX_PENDING` messages wait for their acknowledgement: beyond it the plant waits (a slow broker lowers the offered
rate, which `rounds_so_far()` shows) rather than have paho refuse messages.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter, deque
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import paho.mqtt.client as paho

from hazwatch.config import load_config
from simulators.mqtt_publisher import Message, MqttSitePublisher
from simulators.physics.presets import plant_preset

_MAX_BEHIND_S = 1.0
_MAX_PENDING = 30_000
"""Messages published and not yet acknowledged, at most. paho numbers messages 1..65535 and refuses (`ERR_QUEUE_SIZE`,
the message is not sent) one whose number is still pending: a publisher running ahead of its broker must wait."""


class CountingPlant:
    """Publishes a round every `interval` s from a child process until stopped; `stop()` returns what the broker
    acknowledged per sensor id. `rounds` and `stamps_ms` (the stamp of every round) are filled in by `stop()`.

    `rounds_per_message` > 1 has a plant whose sensors all sit behind one gateway (`plant_config(one_gateway=True)`)
    buffer that many rounds and publish them as one batch, each point with its own stamp, as gateways that forward
    a historian's samples do."""

    def __init__(
        self, config_path: Path, url: str, interval: float = 0.5, seed: int = 5, rounds_per_message: int = 1
    ) -> None:
        site = load_config(config_path).sites[0]
        self.sensors = plant_preset(site, seed=seed).sensors
        self.interval = interval
        self.rounds = 0
        self.stamps_ms: list[int] = []
        self.unacknowledged = 0
        self.served: Counter[str] = Counter()
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._progress = context.Array("q", 2, lock=False)
        """Rounds published, readings acknowledged by the broker: written by the child as it goes."""
        self._process = context.Process(
            target=_publish,
            args=(str(config_path), url, interval, seed, rounds_per_message, child, self._progress),
            daemon=True,
        )
        self._stopped = False

    def start(self) -> None:
        """Connected and publishing when this returns (OSError/RuntimeError when the broker is unreachable)."""
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the plant's publisher process did not start within 60 s")
        answer = self._conn.recv()
        if answer != "started":
            raise RuntimeError(f"the plant's publisher could not start: {answer}")

    def _ask(self, command: str, timeout: float = 90) -> object:
        self._conn.send(command)
        if not self._conn.poll(timeout):
            raise TimeoutError(f"the plant's publisher did not answer {command!r} within {timeout} s")
        return self._conn.recv()

    @property
    def pid(self) -> int | None:
        """The publishing process (for its CPU time)."""
        return self._process.pid

    def rounds_so_far(self) -> int:
        return self._progress[0]

    def acknowledged_so_far(self) -> int:
        """Readings the broker acknowledged so far."""
        return self._progress[1]

    def pause(self) -> None:
        """Stop publishing until `resume()`, once the broker acknowledged everything published so far."""
        self._ask("pause")

    def resume(self) -> None:
        self._ask("resume")

    def connected(self) -> bool:
        return bool(self._ask("connected"))

    def stop(self, timeout: float = 120) -> Counter[str]:
        """Stop publishing, wait up to `timeout` s for the broker to acknowledge every message; what it did is
        returned (and kept in `served`)."""
        if self._stopped or not self._process.is_alive():
            return self.served
        self._stopped = True
        counts, stamps, unacknowledged = self._ask(f"stop {timeout}", timeout + 30)  # type: ignore[misc]
        self._process.join(30)
        self.served = Counter({sensor: int(n) for sensor, n in zip(self.sensors, counts, strict=True) if n})
        self.stamps_ms = stamps
        self.rounds = len(stamps)
        self.unacknowledged = unacknowledged
        return self.served


def _publish(
    config_path: str, url: str, interval: float, seed: int, rounds_per_message: int, conn: Connection, progress
) -> None:
    """The child: publish on schedule, answer the parent's commands between rounds."""
    site = load_config(Path(config_path)).sites[0]
    publisher = MqttSitePublisher(site, plant_preset(site, seed=seed), url)
    if rounds_per_message > 1 and [p.topic.payload for p in publisher.publications] != ["gateway"]:
        conn.send("rounds_per_message > 1 needs every sensor behind one gateway (plant_config(one_gateway=True))")
        return
    try:
        publisher.connect()
    except OSError as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("started")
    client = publisher.client
    counts = np.zeros(len(publisher.model.sensors), dtype=np.int64)
    pending: deque[tuple[paho.MQTTMessageInfo, list[int]]] = deque()
    held: list[Message] = []
    """Rounds buffered for the next batch message (rounds_per_message > 1)."""
    stamps: list[int] = []
    started = time.monotonic()
    next_round = started
    running = True

    def count_acknowledged() -> None:
        """The broker acknowledges in order: count from the oldest until the first still waiting."""
        while pending and _acknowledged(pending[0][0]):
            indices = pending.popleft()[1]
            np.add.at(counts, indices, 1)
            progress[1] += len(indices)

    def send(messages: list[Message]) -> None:
        for topic, payload, qos, indices in messages:
            pending.append((client.publish(topic, payload, qos=qos), indices))

    def send_held() -> None:
        if held:
            send([_batched(held, publisher.publications[0].topic.items_path)])
            held.clear()

    def settle(timeout: float) -> None:
        deadline = time.monotonic() + timeout
        count_acknowledged()
        while pending and time.monotonic() < deadline:
            time.sleep(0.05)
            count_acknowledged()

    while True:
        if conn.poll():
            command = conn.recv()
            if command == "pause":
                running = False
                send_held()
                settle(60)
                conn.send("paused")
            elif command == "resume":
                running = True
                next_round = time.monotonic()
                conn.send("resumed")
            elif command == "connected":
                conn.send(client.is_connected())
            elif command.startswith("stop"):
                send_held()
                settle(float(command.split()[1]))
                conn.send((counts.tolist(), stamps, len(pending)))
                client.disconnect()
                client.loop_stop()
                return
        now = time.monotonic()
        if len(pending) > _MAX_PENDING:
            settle(0.05)
            continue
        if not running or now < next_round:
            time.sleep(0.05 if not running else min(0.05, next_round - now))
            continue
        stamp_ms = max(time.time_ns() // 10**6, stamps[-1] + 1 if stamps else 0)
        values, quality = publisher.model.sample(now - started)
        messages = publisher.messages(stamp_ms * 10**6, values, quality)
        if rounds_per_message > 1:
            held.extend(messages)
            if len(held) == rounds_per_message:
                send_held()
        else:
            send(messages)
        stamps.append(stamp_ms)
        progress[0] = len(stamps)
        next_round = max(next_round + interval, now - _MAX_BEHIND_S)
        count_acknowledged()


def _batched(rounds: list[Message], items_path: str) -> Message:
    """One gateway message carrying the points of several rounds' messages, in order."""
    topic, _, qos, _ = rounds[0]
    items = [item for _, payload, _, _ in rounds for item in json.loads(payload)[items_path]]
    return topic, json.dumps({items_path: items}).encode(), qos, [i for *_, indices in rounds for i in indices]


def _acknowledged(info: paho.MQTTMessageInfo) -> bool:
    """`is_published()` raises for a QoS 1 message published while the broker was away, although paho keeps it
    and sends it on reconnect; its PUBACK is then only seen in the flag that `is_published()` reads."""
    if info.rc == paho.MQTT_ERR_NO_CONN:
        return bool(info._published)
    return info.is_published()
