"""Sparkplug B from an outside edge node (pysparkplug, its own process) through a real mosquitto into the
running pipeline: detectors and InfluxDB get the births and the data by alias; seq gaps are counted; an
unknown alias brings a rebirth request; STATE offline, DDEATH and the node's death (its MQTT will) turn
the sensors OFFLINE in under a second."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from collector.app.localservices import LocalInfluxd, LocalMosquitto, local_influxd
from collector.pipeline.detection import build_detector_stack
from collector.pipeline.loop import Pipeline
from collector.sources.mqtt.source import mqtt_sources
from collector.storage.influx import InfluxSink
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.loader import parse_config
from hazwatch.events import AlarmEvent
from hazwatch.quality import Quality
from tests.support.waiting import metric, wait_until

SITE = "hengda-spb"
REPO = Path(__file__).resolve().parents[4]
EDGE_NODE = Path(__file__).with_name("spb_edge_node.py")
DEATH_BUDGET_S = 1.0
REACTOR = ["R1-TT", "R1-PT", "R1-LEL"]
ALL = [*REACTOR, "LINE-FLOW"]


def sparkplug_python() -> str:
    """The side virtualenv with pysparkplug (scripts/setup.sh makes it; pysparkplug pins paho-mqtt < 2)."""
    python = os.environ.get("HAZWATCH_SPARKPLUG_PYTHON") or str(REPO / ".venv-sparkplug" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"{python} missing: run scripts/setup.sh (it makes the outside Sparkplug B edge node's venv)")
    return python


def spb_config(database: str, spool: Path) -> HazwatchConfig:
    sensors = [
        {"id": "R1-TT", "kind": "temperature", "range": [0, 250],
         "limits": {"high": [{"level": 1, "name": "high", "value": 85.0, "reset": 84.0}]}},
        {"id": "R1-PT", "kind": "pressure", "range": [0, 10]},
        {"id": "R1-LEL", "kind": "LEL", "range": [0, 100]},
        {"id": "LINE-FLOW", "kind": "flow", "range": [0, 500]},
    ]  # fmt: skip
    device = {
        "id": "edge-1",
        "protocol": "mqtt",
        "expected_interval": 30,
        "sparkplug": {
            "group_id": "hengda",
            "edge_node_id": "edge-1",
            "primary_host": "scada",
            "rebirth_interval": 0.5,
            "metrics": [
                {"sensor": "R1-TT", "device": "reactor1", "metric": "Inputs/Temperature"},
                {"sensor": "R1-PT", "device": "reactor1", "metric": "Inputs/Pressure"},
                {"sensor": "R1-LEL", "device": "reactor1", "metric": "Gas/LEL"},
                {"sensor": "LINE-FLOW", "metric": "Line/Flow"},
            ],
        },
    }
    return parse_config(
        {
            "sites": [
                {
                    "id": SITE,
                    "type": "chemical_plant",
                    "areas": [{"id": "r1", "kind": "process_unit", "sensors": sensors}],
                    "devices": [device],
                }
            ],
            "influxdb": {"database": database, "flush_interval": 0.1, "spool_dir": str(spool)},
        }
    )


class Recorder:
    """A reading and event sink noting when each batch reached the pipeline's sinks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: list[tuple[float, ReadingBatch]] = []
        self.events: list[AlarmEvent] = []

    def submit(self, batch: ReadingBatch) -> None:
        with self.lock:
            self.batches.append((time.monotonic(), batch))

    def submit_events(self, events: Sequence[AlarmEvent]) -> None:
        with self.lock:
            self.events.extend(events)

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None

    def readings(self, registry: SensorRegistry, since: float = 0.0) -> list[tuple[float, str, float, int]]:
        with self.lock:
            batches = list(self.batches)
        return [
            (arrived, registry.sensors[slot].sensor, value, quality)
            for arrived, b in batches
            if arrived >= since
            for slot, value, quality in zip(b.slot.tolist(), b.value.tolist(), b.quality.tolist(), strict=True)
        ]

    def offline_at(self, registry: SensorRegistry, sensors: list[str], since: float) -> float | None:
        """When the last of `sensors` got an OFFLINE reading after `since` (monotonic), or None."""
        first: dict[str, float] = {}
        for arrived, sensor, value, quality in self.readings(registry, since):
            if sensor in sensors and quality == Quality.OFFLINE and math.isnan(value):
                first.setdefault(sensor, arrived)
        return max(first.values()) if len(first) == len(sensors) else None


class EdgeNode:
    """The outside edge node process, driven line by line."""

    def __init__(self, port: int) -> None:
        self.process = subprocess.Popen(
            [sparkplug_python(), str(EDGE_NODE), str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_until(lambda: "ready" in self.lines, 20, "the edge node to connect")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def send(self, **command: object) -> None:
        before = self.lines.count("ok")
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        wait_until(lambda: self.lines.count("ok") > before, 10, f"the edge node to do {command}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


class RunningPipeline:
    def __init__(self, pipeline: Pipeline) -> None:
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(pipeline,), daemon=True)
        self.thread.start()

    def _run(self, pipeline: Pipeline) -> None:
        async def main() -> None:
            self.stop_event = asyncio.Event()
            await pipeline.run(self.stop_event)

        self.loop.run_until_complete(main())
        self.done.set()

    def stop(self) -> None:
        wait_until(lambda: self.stop_event is not None, 5, "the pipeline to start")
        self.loop.call_soon_threadsafe(self.stop_event.set)
        assert self.done.wait(30), "pipeline did not stop"


@pytest.fixture(scope="module")
def influxd() -> Iterator[LocalInfluxd]:
    with local_influxd() as server:
        yield server


def test_an_outside_sparkplug_edge_node_reaches_the_detectors_and_influxdb_and_its_death_is_offline_at_once(
    mosquitto: LocalMosquitto, influxd: LocalInfluxd, tmp_path: Path
) -> None:
    config = spb_config("spb", tmp_path / "spool")
    registry = SensorRegistry.from_config(config)
    (source,) = mqtt_sources(config, registry, mosquitto.url)
    recorder = Recorder()
    storage = InfluxSink(config.influxdb.model_copy(update={"url": influxd.url}), registry)
    stack = build_detector_stack(registry, config, AlarmLifecycle())
    running = RunningPipeline(Pipeline([source], stack, [recorder, storage], [recorder, storage], tick_interval=0.2))
    node: EdgeNode | None = None
    try:
        wait_until(lambda: metric("hazwatch_mqtt_connected", source=source.name) == 1, 10, "hazwatch to subscribe")
        node = EdgeNode(mosquitto.port)

        def latest(sensor: str) -> tuple[float, int] | None:
            rows = [(v, q) for _, s, v, q in recorder.readings(registry) if s == sensor]
            return rows[-1] if rows else None

        node.send(op="birth")
        wait_until(lambda: latest("R1-TT") == (70.25, Quality.GOOD) and latest("LINE-FLOW") == (120.5, 0), 10,
                   "the births' values")  # fmt: skip

        node.send(op="ddata", device="reactor1", values={"1": 90.5, "2": 3.75, "3": 12})
        node.send(op="ndata", values={"10": 130.25})
        by_alias = {"R1-TT": (90.5, 0), "R1-PT": (3.75, 0), "R1-LEL": (12.0, 0), "LINE-FLOW": (130.25, 0)}
        wait_until(lambda: all(latest(s) == v for s, v in by_alias.items()), 10, "data by alias")  # two messages
        wait_until(lambda: any(e.rule.startswith("threshold") and registry.sensors[e.slot].sensor == "R1-TT"
                               and e.level == 1 for e in recorder.events), 10, "the high alarm on R1-TT")  # fmt: skip

        gaps = metric("hazwatch_sparkplug_seq_gaps_total", site=SITE, device="edge-1")
        node.send(op="skip_seq")
        node.send(op="ddata", device="reactor1", values={"1": 91.0})
        wait_until(lambda: latest("R1-TT") == (91.0, 0), 10, "data after the lost message")
        assert metric("hazwatch_sparkplug_seq_gaps_total", site=SITE, device="edge-1") == gaps + 1

        node.send(op="ddata", device="reactor1", values={"99": 1.0})
        wait_until(lambda: "ncmd Node Control/Rebirth" in node.lines, 10, "a rebirth request for the unknown alias")
        wait_until(lambda: latest("R1-TT") == (70.25, 0), 10, "the new births")
        assert metric("hazwatch_sparkplug_rebirth_requests_total", site=SITE, device="edge-1") == 1

        host = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="scada-host")
        host.connect("127.0.0.1", mosquitto.port)
        host.loop_start()
        said_offline = time.monotonic()
        host.publish("spBv1.0/STATE/scada", json.dumps({"online": False, "timestamp": int(time.time() * 1000)}),
                     qos=1).wait_for_publish(5)  # fmt: skip
        host.loop_stop()
        host.disconnect()
        wait_until(lambda: recorder.offline_at(registry, ALL, said_offline) is not None, 5, "STATE offline")
        assert recorder.offline_at(registry, ALL, said_offline) - said_offline < DEATH_BUDGET_S

        node.send(op="birth")
        wait_until(lambda: latest("R1-TT") == (70.25, 0), 10, "births after the host returned")
        device_died = time.monotonic()
        node.send(op="ddeath", device="reactor1")
        wait_until(lambda: recorder.offline_at(registry, REACTOR, device_died) is not None, 5, "DDEATH")
        assert recorder.offline_at(registry, REACTOR, device_died) - device_died < DEATH_BUDGET_S
        assert latest("LINE-FLOW") == (120.5, 0), "the node's own metric is not the dead device's"

        node_died = time.monotonic()
        node.kill()
        wait_until(lambda: recorder.offline_at(registry, ALL, node_died) is not None, 5, "the NDEATH will")
        death_s = recorder.offline_at(registry, ALL, node_died) - node_died
        assert death_s < DEATH_BUDGET_S, f"offline {death_s:.3f} s after the node died"
        print(f"node killed -> every sensor OFFLINE in the pipeline after {death_s * 1000:.0f} ms")
    finally:
        if node is not None and node.process.poll() is None:
            node.kill()
        running.stop()

    stored = {s["tags"]["sensor"]: s["values"] for s in influxd.query(
        "SELECT value, quality FROM readings GROUP BY sensor", database="spb")}  # fmt: skip
    tt = stored["R1-TT"]
    assert [v for _, v, _ in tt if v is not None][:4] == [70.25, 90.5, 91.0, 70.25]
    assert tt[-1][2] == Quality.OFFLINE and tt[-1][1] is None, "the death is stored as a gap, never a value"
    assert all(stored[s][-1][2] == Quality.OFFLINE for s in ALL)
    alarms = influxd.query("SELECT * FROM alarms WHERE sensor = 'R1-TT'", database="spb")
    assert alarms and alarms[0]["values"], "the R1-TT high alarm is stored"
