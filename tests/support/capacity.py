"""How many readings per second each part of the soak's installation takes alone, and the CPU it spends on them.

    .venv/bin/python -m tests.support.capacity plant  --seconds 30       # the load generator alone
    .venv/bin/python -m tests.support.capacity broker --seconds 30       # + mosquitto saving after every change
    .venv/bin/python -m tests.support.capacity broker --seconds 30 --broker-saves default
    .venv/bin/python -m tests.support.capacity hazwatch --seconds 20     # hazwatch taking in a broker backlog
    .venv/bin/python -m tests.support.capacity influxd --points 200000   # influxd taking line protocol

`--one-gateway` (plant, broker, hazwatch): every plant sensor behind its DCS gateway, one batch message of 33
readings a round instead of 25 messages; `--rounds-per-message K` (plant, broker) K rounds in one message.

Each runs one part against the others at rest, so that a soak that falls short of its rate can be told apart:
the plant (one process, schedule kept, counts what the broker acknowledged), the broker (a separate plain paho
subscriber acknowledging at once), hazwatch (the plant publishes while hazwatch is away, then hazwatch takes the
backlog in and stores it), influxd (batches of 5000 lines from one client). CPU is the process's user + system
time over the measurement, in cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from collector.app.localservices import BrokerSaving, LocalInfluxd, LocalMosquitto, free_port
from tests.support.hazwatch_process import HazwatchProcess, plant_config
from tests.support.plant_publisher import CountingPlant
from tests.support.waiting import wait_until

INTERVAL = 0.0033
"""Plant rounds asked for: 33 readings every 3.3 ms, 10 k readings/s."""

_SUBSCRIBER = """
import sys, time, paho.mqtt.client as paho
received = 0
def count(client, userdata, message):
    global received
    received += 1
client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="capacity-sink", clean_session=False)
client.on_message = count
client.connect("127.0.0.1", int(sys.argv[1]))
client.subscribe("#", qos=1)
client.loop_start()
while True:
    time.sleep(0.5)
    open(sys.argv[2], "w").write(str(received))
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _plant(workdir: Path, broker: LocalMosquitto, one_gateway: bool, rounds_per_message: int) -> CountingPlant:
    config = plant_config(workdir / "plant.yaml", interval=INTERVAL, one_gateway=one_gateway)
    return CountingPlant(config, broker.url, interval=INTERVAL, rounds_per_message=rounds_per_message)


def measure_plant(
    workdir: Path, seconds: float, saves: BrokerSaving, subscriber: bool, one_gateway: bool, rounds_per_message: int
) -> None:
    broker = LocalMosquitto(port=free_port(), data_dir=workdir, saves=saves)
    broker.start()
    sink = None
    try:
        if subscriber:
            sink = subprocess.Popen([sys.executable, "-c", _SUBSCRIBER, str(broker.port), str(workdir / "received")])
            time.sleep(1.0)
        plant = _plant(workdir, broker, one_gateway, rounds_per_message)
        plant.start()
        broker_cpu, plant_cpu = cpu_seconds(broker.process.pid), cpu_seconds(plant.pid)
        rounds, started = plant.rounds_so_far(), time.monotonic()
        time.sleep(seconds)
        took = time.monotonic() - started
        rounds = plant.rounds_so_far() - rounds
        broker_cpu, plant_cpu = cpu_seconds(broker.process.pid) - broker_cpu, cpu_seconds(plant.pid) - plant_cpu
        served = plant.stop(timeout=5)
        line = (
            f"asked 10000 readings/s; the plant published {rounds * len(plant.sensors) / took:.0f} readings/s "
            f"({plant_cpu / took:.2f} cores), the broker acknowledged {sum(served.values()) / took:.0f} readings/s "
            f"({broker_cpu / took:.2f} cores; saving: {saves})"
        )
        if sink is not None:
            time.sleep(1.0)
            line += f", the subscriber received {int((workdir / 'received').read_text()) / took:.0f} messages/s"
        print(line)
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait(10)
        broker.stop()


def _stored(influxd: LocalInfluxd) -> int:
    try:
        return sum(int(s["values"][0][1]) for s in influxd.query('SELECT count("quality") FROM "readings"'))
    except Exception:  # not up yet, or the database not created yet
        return 0


def measure_hazwatch(workdir: Path, seconds: float, one_gateway: bool) -> None:
    broker = LocalMosquitto(port=free_port(), data_dir=workdir / "mosquitto")
    influxd = LocalInfluxd(port=free_port(), data_dir=workdir / "influxd")
    for server in (broker, influxd):
        server.data_dir.mkdir(parents=True, exist_ok=True)
        server.start()
    config = plant_config(workdir / "plant.yaml", interval=INTERVAL, one_gateway=one_gateway)
    options = ["--influx-url", influxd.url, "--mqtt-url", broker.url]
    hazwatch = HazwatchProcess(config, workdir / "state", workdir / "hazwatch.log", options)
    try:
        hazwatch.start()
        hazwatch.wait_subscribed(60)
        hazwatch.stop(60)  # its persistent session keeps what the plant publishes now
        plant = _plant(workdir, broker, one_gateway, 1)
        plant.start()
        time.sleep(seconds)
        backlog = sum(plant.stop().values())
        hazwatch.start()
        wait_until(lambda: hazwatch.metric("hazwatch_readings_ingested_total") > 0, 120, "hazwatch to start")
        started, cpu = time.monotonic(), cpu_seconds(hazwatch.process.pid)
        wait_until(lambda: hazwatch.metric("hazwatch_readings_ingested_total") >= backlog, 600, "the backlog taken in")
        taken_in, cpu_in = time.monotonic() - started, cpu_seconds(hazwatch.process.pid) - cpu
        wait_until(lambda: _stored(influxd) >= backlog, 600, "the backlog stored")
        stored, cpu_all = time.monotonic() - started, cpu_seconds(hazwatch.process.pid) - cpu
        print(
            f"hazwatch took in a backlog of {backlog} readings at {backlog / taken_in:.0f} readings/s "
            f"({cpu_in / taken_in:.2f} cores) and had stored it all after {stored:.1f} s: {backlog / stored:.0f} "
            f"readings/s end to end ({cpu_all / stored:.2f} cores, {1e6 * cpu_all / backlog:.0f} µs CPU a reading)"
        )
    finally:
        if hazwatch.process is not None:
            hazwatch.stop(60)
        broker.stop()
        influxd.stop()


def measure_influxd(workdir: Path, points: int, batch: int = 5000) -> None:
    influxd = LocalInfluxd(port=free_port(), data_dir=workdir)
    influxd.start()
    try:
        httpx.post(f"{influxd.url}/query", data={"q": "CREATE DATABASE capacity"}, timeout=30).raise_for_status()
        t0 = time.time_ns()
        lines = [
            f"readings,site=plant,sensor=S{k % 33:02d} value={k * 0.1},quality=0i {t0 + (k // 33) * 3_300_000 + k % 33}"
            for k in range(points)
        ]
        cpu, started = cpu_seconds(influxd.process.pid), time.monotonic()
        with httpx.Client(timeout=60) as client:
            for first in range(0, points, batch):
                body = "\n".join(lines[first : first + batch]).encode()
                client.post(f"{influxd.url}/write", params={"db": "capacity"}, content=body).raise_for_status()
        took = time.monotonic() - started
        cpu = cpu_seconds(influxd.process.pid) - cpu
        rate = points / took
        print(f"influxd stored {points} points in batches of {batch}: {rate:.0f} points/s ({cpu / took:.2f} cores)")
    finally:
        influxd.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["plant", "broker", "hazwatch", "influxd"])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--broker-saves", choices=["change", "second", "default"], default="change", help="broker")
    parser.add_argument("--one-gateway", action="store_true", help="every plant sensor in one batch message a round")
    parser.add_argument("--rounds-per-message", type=int, default=1, help="with --one-gateway: rounds in a message")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"hazwatch-capacity-{args.part}-") as tmp:
        workdir = Path(tmp)
        if args.part == "plant":
            measure_plant(workdir, args.seconds, "default", False, args.one_gateway, args.rounds_per_message)
        elif args.part == "broker":
            measure_plant(workdir, args.seconds, args.broker_saves, True, args.one_gateway, args.rounds_per_message)
        elif args.part == "hazwatch":
            measure_hazwatch(workdir, args.seconds, args.one_gateway)
        else:
            measure_influxd(workdir, args.points)
    return 0


if __name__ == "__main__":
    sys.exit(main())
