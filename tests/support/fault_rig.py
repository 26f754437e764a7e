"""Every real part of a hazwatch installation on this machine, and the faults to inflict on each.

influxd and mosquitto (saving after every change, as docs/reliability.md advises), the example mine served
over Modbus, the example plant publishing QoS 1 over MQTT, a webhook receiver, and `hazwatch run` reading
both sites, all as real processes or servers on free loopback ports. Faults: kill -9 and restart, and
SIGSTOP then SIGCONT, of influxd, mosquitto, a Modbus device, the receiver and hazwatch itself.
`settle()` then checks the invariants: per-sensor counts in InfluxDB equal what the plant served, every
annunciated alarm reached the receiver, duplicates only with the same event_id, hazwatch up.
"""

from __future__ import annotations

import asyncio
import re
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from collector.app.localservices import BrokerSaving, LocalInfluxd, LocalMosquitto, free_port
from tests.support.hazwatch_process import HazwatchProcess, plant_config
from tests.support.plant_publisher import CountingPlant
from tests.support.receivers import ThreadedReceiver
from tests.support.served_mine import ServedMine, mine_config
from tests.support.waiting import wait_until
from tests.support.workers import unstamped_sensors

SECRET = "fault-rig-webhook-secret-0123456789"
_ANNOUNCED = re.compile(r"alarm event_id=(\w+) site=\S+ area=\S+ sensor=(\S+) .*? annunciate=True")
METHANE = "LW-CH4-T0"


@dataclass
class Figures:
    faults: list[str] = field(default_factory=list)
    served: int = 0
    stored: int = 0
    sensors_equal: int = 0
    """Sensors holding exactly what was served, or more where payloads carry no time (at-least-once)."""
    sensors: int = 0
    announced: int = 0
    delivered: int = 0
    duplicates: int = 0
    rss_mb: list[float] = field(default_factory=list)
    wal_bytes_max: int = 0
    unacknowledged: int = 0
    """Plant messages the broker had not acknowledged when the plant stopped (not counted as served)."""
    differ: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Sensor -> (served, stored) where they differ."""
    missing: list[tuple[float, float, int]] = field(default_factory=list)
    """Rounds served but not stored, as (from, to) seconds since the plant started and how many rounds."""

    def __str__(self) -> str:
        rss = f"{self.rss_mb[0]:.0f} -> {self.rss_mb[-1]:.0f} MB (max {max(self.rss_mb):.0f})" if self.rss_mb else "-"
        return (
            f"faults: {len(self.faults)} ({', '.join(self.faults)})\n"
            f"plant readings served {self.served}, stored {self.stored}; sensors complete {self.sensors_equal}/"
            f"{self.sensors} (equal, or more for plain numbers stamped on receipt: at-least-once)\n"
            f"alarm events announced {self.announced}, delivered {self.delivered}, duplicate deliveries "
            f"{self.duplicates} (same event_id)\nhazwatch resident memory {rss}; "
            f"write-ahead log at most {self.wal_bytes_max / 1e6:.1f} MB; plant messages never acknowledged by the "
            f"broker {self.unacknowledged}\nhazwatch resident memory after each fault, MB: "
            + " ".join(f"{mb:.0f}" for mb in self.rss_mb)
            + "".join(f"\n  {sensor}: served {a}, stored {b}" for sensor, (a, b) in sorted(self.differ.items()))
            + "".join(f"\n  missing {n} rounds between {a:.1f} s and {b:.1f} s" for a, b, n in self.missing)
        )


class FaultRig:
    def __init__(
        self,
        workdir: Path | None = None,
        plant_interval: float = 0.5,
        broker_saves: BrokerSaving = "change",
        one_gateway: bool = False,
        rounds_per_message: int = 1,
    ) -> None:
        """`broker_saves` other than "change" (LocalMosquitto.saves) is faster under load, but a kill -9 of the
        broker loses what it acknowledged since its last save.
        `one_gateway` has the plant publish each round as one batch message of all its sensors, and
        `rounds_per_message` that many rounds in one message."""
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="hazwatch-faults-"))
        self.influxd = LocalInfluxd(port=free_port(), data_dir=self._dir("influxd"))
        self.mosquitto = LocalMosquitto(
            port=free_port(), data_dir=self._dir("mosquitto"), saves=broker_saves
        )
        self.receiver = ThreadedReceiver(SECRET.encode())
        self._receiver_server = None
        subscribers = [{"name": "control-room", "url": self.receiver.url}]
        self.mine_path = mine_config(self.workdir / "mine.yaml", subscribers)
        self.plant_path = plant_config(
            self.workdir / "plant.yaml",
            subscribers=subscribers,
            interval=max(plant_interval * rounds_per_message, self.SLOWEST_EXPECTED_INTERVAL),
            one_gateway=one_gateway,
        )
        self.mine = ServedMine(self.mine_path)
        self.plant: CountingPlant | None = None
        self.plant_interval = plant_interval
        self.rounds_per_message = rounds_per_message
        self.figures = Figures()
        self.hazwatch: HazwatchProcess | None = None

    def _dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # ---- life ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self.influxd.start()
        self.mosquitto.start()
        self._receiver_server = self.receiver.serve()
        self.mine.__enter__()
        self.hazwatch = HazwatchProcess(
            self.mine_path,
            self.workdir / "state",
            self.workdir / "hazwatch.log",
            ["--influx-url", self.influxd.url, "--mqtt-url", self.mosquitto.url],
            env={"HAZWATCH_WEBHOOK_SECRET": SECRET},
            more_configs=[self.plant_path],
        )
        self._start_hazwatch()
        self.plant = CountingPlant(
            self.plant_path, self.mosquitto.url, self.plant_interval, rounds_per_message=self.rounds_per_message
        )
        self.plant.start()

    def _start_hazwatch(self) -> None:
        assert self.hazwatch is not None
        self.hazwatch.start()
        self.hazwatch.wait_subscribed(60)

    def stop(self) -> None:
        """Stop whatever was started (also after a start that failed half-way)."""
        if self.plant is not None:
            self.plant.stop()
        if self.hazwatch is not None and self.hazwatch.process is not None:
            self.hazwatch.stop(60)
        if self.mine.thread.is_alive():
            self.mine.__exit__()
        if self._receiver_server is not None:
            self._receiver_server.shutdown()
        self.mosquitto.stop()
        self.influxd.stop()

    # ---- faults -------------------------------------------------------------------------------------

    def _pause(self, process, seconds: float) -> None:
        process.send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        process.send_signal(signal.SIGCONT)

    def fault(self, name: str, seconds: float) -> None:
        """Inflict one fault for about `seconds`, then let the part come back."""
        self.figures.faults.append(name)
        action: dict[str, Callable[[], None]] = {
            "kill influxd": lambda: (self._kill(self.influxd), time.sleep(seconds), self.influxd.start()),
            "stop influxd": lambda: self._pause(self.influxd.process, seconds),
            "kill mosquitto": lambda: self._broker_down(seconds),
            "stop mosquitto": lambda: self._pause(self.mosquitto.process, seconds),
            "kill modbus device": lambda: self._device_down(seconds),
            "kill receiver": lambda: self._receiver_down(seconds),
            "kill hazwatch": lambda: (self.hazwatch.kill(), time.sleep(seconds), self._start_hazwatch()),
            "stop hazwatch": lambda: self._pause(self.hazwatch.process, seconds),
            "methane alarm": lambda: self._methane(seconds),
        }[name]
        action()
        self._sample()

    SLOWEST_EXPECTED_INTERVAL = 0.5
    """Seconds: the plant's devices are declared to publish at least this often, so offline means 1.5 s of silence.
    A plant publishing every few milliseconds through a loaded broker jitters by more than three of its own
    intervals, which would make offline chatter through the whole soak rather than mark the faults it inflicts."""

    FAULTS = (
        "kill influxd", "stop influxd", "methane alarm", "kill mosquitto", "stop mosquitto",
        "kill modbus device", "kill receiver", "kill hazwatch", "stop hazwatch",
    )  # fmt: skip

    @staticmethod
    def _kill(server) -> None:
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        server.process = None

    def _broker_down(self, seconds: float) -> None:
        """The plant holds its readings while its broker is gone (a device would buffer them); hazwatch's queued
        messages must survive the broker's kill -9."""
        self.plant.pause()
        self._kill(self.mosquitto)
        time.sleep(seconds)
        self.mosquitto.start()
        wait_until(self.plant.connected, 30, "the plant to reconnect")
        self.plant.resume()

    def _device_down(self, seconds: float) -> None:
        device = self.mine.servers.site.devices[0].id
        asyncio.run_coroutine_threadsafe(self.mine.servers.stop_device(device), self.mine.loop).result(15)
        time.sleep(seconds)
        asyncio.run_coroutine_threadsafe(self.mine.servers.start_device(device), self.mine.loop).result(15)

    def _receiver_down(self, seconds: float) -> None:
        self._receiver_server.shutdown()
        self._receiver_server.server_close()
        time.sleep(seconds)
        self._receiver_server = self.receiver.serve()

    def _methane(self, seconds: float) -> None:
        self.mine.values.held[METHANE] = 1.2
        time.sleep(seconds / 2)
        self.mine.values.held[METHANE] = 0.3
        time.sleep(seconds / 2)

    def _sample(self) -> None:
        pid = self.hazwatch.process.pid if self.hazwatch and self.hazwatch.process else None
        if pid is not None:
            status = Path(f"/proc/{pid}/status").read_text()
            kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            self.figures.rss_mb.append(kb / 1024)
        wal = self.workdir / "state" / "spool"
        size = sum(p.stat().st_size for p in wal.glob("*.wal")) if wal.exists() else 0
        self.figures.wal_bytes_max = max(self.figures.wal_bytes_max, size)

    # ---- invariants ---------------------------------------------------------------------------------

    def stored_per_sensor(self) -> dict[str, int]:
        try:
            series = self.influxd.query('SELECT count("quality") FROM "readings" GROUP BY "sensor"')
        except Exception:
            return {}
        return {s["tags"]["sensor"]: int(s["values"][0][1]) for s in series}

    def stored_readings(self) -> int:
        """Every reading in InfluxDB, both sites (0 while it cannot answer)."""
        return sum(self.stored_per_sensor().values())

    def announced(self) -> dict[str, str]:
        return dict(_ANNOUNCED.findall(self.hazwatch.log()))

    def settle(self, timeout: float = 120) -> Figures:
        """Stop the plant, wait for everything to arrive, and fill in the figures (asserting nothing)."""
        served = self.plant.stop()
        figures = self.figures
        deadline = time.monotonic() + timeout

        def caught_up() -> bool:
            stored = self.stored_per_sensor()
            return all(stored.get(sensor, 0) >= count for sensor, count in served.items())

        wait_until(lambda: caught_up() or time.monotonic() > deadline, timeout + 5, "InfluxDB to catch up")
        announced = self.announced()
        delivered_ids = {d.payload["event_id"] for d in self.receiver.deliveries}
        wait_until(
            lambda: set(announced) <= {d.payload["event_id"] for d in self.receiver.deliveries}
            or time.monotonic() > deadline,
            timeout + 5,
            "every alarm at the receiver",
        )
        delivered_ids = {d.payload["event_id"] for d in self.receiver.deliveries}
        stored = self.stored_per_sensor()
        figures.served = sum(served.values())
        figures.stored = sum(stored.get(sensor, 0) for sensor in served)
        figures.sensors = len(served)
        unstamped = unstamped_sensors(self.plant_path)
        figures.sensors_equal = sum(
            stored.get(sensor, 0) == count or (sensor in unstamped and stored.get(sensor, 0) > count)
            for sensor, count in served.items()
        )
        figures.announced = len(announced)
        figures.delivered = len(set(announced) & delivered_ids)
        counts = Counter(d.payload["event_id"] for d in self.receiver.deliveries)
        figures.duplicates = sum(n - 1 for n in counts.values())
        figures.unacknowledged = self.plant.unacknowledged
        figures.differ = {s: (n, stored.get(s, 0)) for s, n in served.items() if stored.get(s, 0) != n}
        figures.missing = self.missing_rounds(served)
        self._sample()
        return figures

    def missing_rounds(self, served: dict[str, int]) -> list[tuple[float, float, int]]:
        """For the first sensor carried (time-stamped) in every round and short in InfluxDB: which rounds are not
        there, grouped into runs."""
        every_round = [s for s, n in served.items() if n == self.plant.rounds]
        short = [s for s in every_round if self.stored_per_sensor().get(s, 0) < served[s]]
        if not short:
            return []
        rows = self.influxd.query(f"SELECT \"quality\" FROM \"readings\" WHERE \"sensor\" = '{short[0]}'", epoch="ms")
        stored = {int(row[0]) for series in rows for row in series["values"]}
        stamps = self.plant.stamps_ms
        first = stamps[0]
        runs: list[tuple[float, float, int]] = []
        for stamp in stamps:
            if stamp in stored:
                continue
            at = (stamp - first) / 1000
            if runs and at - runs[-1][1] < 1.0:
                runs[-1] = (runs[-1][0], at, runs[-1][2] + 1)
            else:
                runs.append((at, at, 1))
        return runs

    def duplicates_differ(self) -> list[str]:
        """Event ids delivered more than once with different bodies (must be none)."""
        bodies: dict[str, set[str]] = {}
        for d in self.receiver.deliveries:
            payload = dict(d.payload)
            bodies.setdefault(str(payload["event_id"]), set()).add(repr(sorted(payload.items())))
        return [event_id for event_id, forms in bodies.items() if len(forms) > 1]

    def up(self) -> bool:
        return self.hazwatch is not None and self.hazwatch.process is not None and self.hazwatch.process.poll() is None
