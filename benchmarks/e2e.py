"""End to end: gateway batch payloads → real mosquitto → hazwatch → real influxd + webhook receiver.

The load generator publishes every site's gateway payload once per cycle at the offered rate
(pre-encoded JSON, fresh timestamps, QoS 1), and between payloads injects single methane readings
over the power-cut limit, noting when each was sent. The webhook receiver notes when the raise for
that sensor arrives: that difference is the alarm latency under load. Zero loss is checked by
counting the points in influxd; readings/s is everything stored over the time from the first
publish until the last point was in the database (watched through influxd's write counter, so the
measurement does not load influxd with counting queries while it runs).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import paho.mqtt.client as paho

from benchmarks.e2e_site import TOPIC
from benchmarks.fleet import template_site
from benchmarks.procs import ROOT
from collector.app.localservices import free_port, local_influxd, local_mosquitto
from simulators.physics.presets import mine_preset

COPIES = 10
"""The example mine ×10 per gateway: 480 readings per payload."""


class _Receiver(ThreadingHTTPServer):
    request_queue_size = 256
    """The default listen backlog of 5 drops connections when hazwatch delivers 16 at once, and the
    retry after a connect timeout would be measured as alarm latency."""
    daemon_threads = True


class WebhookLog:
    """A real HTTP receiver on a free port; records when each sensor's first raise arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, str], int] = {}
        self.received = 0
        log = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.time_ns()
                payload = json.loads(body)
                log.received += 1
                log.arrivals.setdefault((payload.get("site"), payload.get("sensor")), now)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self.server = _Receiver(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> WebhookLog:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def gateway_items(variants: int = 4, seed: int = 3) -> list[bytes]:
    """The `points` list of one site's payload, in a few value variants (each series keeps moving)."""
    template = template_site()
    model = mine_preset(template, seed=seed)
    ids = [f"{s.id}-{k}" for k in range(COPIES) for area in template.areas for s in area.sensors]
    out = []
    for v in range(variants):
        values, _ = model.sample(2.0 * v)
        tiled = np.tile(values, COPIES)
        out.append(
            ",".join(f'{{"id":"{i}","v":{x!r},"q":0}}' for i, x in zip(ids, tiled.tolist(), strict=True)).encode()
        )
    return out


def _count(influxd) -> int:
    series = influxd.query("SELECT count(quality) FROM readings")
    return int(series[0]["values"][0][1]) if series else 0


def _points_written(influxd) -> int:
    """influxd's own count of points accepted over HTTP. Cheap to poll while the run goes on, unlike a
    count over every series, which costs influxd ~as much CPU as the writes it is meant to watch."""
    total = 0
    for series in influxd.query("SHOW STATS FOR 'httpd'"):
        column = series["columns"].index("pointsWrittenOK")
        total += sum(int(row[column]) for row in series["values"])
    return total


def measure(
    rate: float, seconds: float, period: float = 0.5, injections_per_cycle: int = 5, workers: int = 1
) -> dict:
    """With `workers` > 1, that many hazwatch processes share the sites (`--partition K/N`, by site)."""
    per_site = COPIES * sum(len(a.sensors) for a in template_site().areas)
    sites = max(1, round(rate * period / per_site))
    with ExitStack() as stack:
        influxd = stack.enter_context(local_influxd())
        broker = stack.enter_context(local_mosquitto())
        hooks = stack.enter_context(WebhookLog())
        state = stack.enter_context(tempfile.TemporaryDirectory(prefix="hazwatch-bench-"))
        args = {
            "sites": sites,
            "copies": COPIES,
            "broker_url": broker.url,
            "influx_url": influxd.url,
            "webhook_url": hooks.url,
            "state_dir": state,
        }
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.e2e_worker", json.dumps(_worker_args(args, k, workers))],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for k in range(workers)
        ]
        tails = []
        try:
            for worker in processes:
                if worker.stdout.readline().strip() != "READY":
                    raise RuntimeError("hazwatch worker did not start")
            result = _publish_and_count(influxd, broker.port, hooks, sites, per_site, rate, seconds, period,
                                        injections_per_cycle)  # fmt: skip
        finally:
            for worker in processes:
                try:
                    tails.append(worker.communicate(timeout=120)[0])
                except subprocess.TimeoutExpired:
                    worker.kill()
                    tails.append("")
        result["workers"] = workers
        result["worker_exit"] = max(worker.returncode for worker in processes)
        result["worker_tail"] = tails[0].strip()[-200:]
        lines = [line for tail in tails for line in tail.splitlines() if line.startswith("{")]
        cpu = [json.loads(line).get("cpu_s", 0.0) for line in lines]
        if cpu and result["stored"]:
            # CPU per reading is what a shared box cannot blur: wall-clock rates move with the other load
            result["worker_cpu_us_per_reading"] = sum(cpu) * 1e6 / result["stored"]
        return result


def _worker_args(args: dict, k: int, workers: int) -> dict:
    if workers == 1:
        return args
    return {**args, "state_dir": f"{args['state_dir']}/w{k}", "partition": f"{k}/{workers}"}


def _publish_and_count(influxd, port, hooks, sites, per_site, rate, seconds, period, injections_per_cycle) -> dict:
    items = gateway_items()
    warm_stamp = str(time.time_ns() - int(period * 1e9)).encode()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-warm-up")
    client.connect("127.0.0.1", port)
    client.loop_start()
    for i in range(sites):  # one cycle first: influxd creates each series once, not during the timed run
        topic = TOPIC.replace("{site}", f"mine-{i:05d}")
        client.publish(topic, b'{"ts":' + warm_stamp + b',"points":[' + items[-1] + b"]}", qos=1).wait_for_publish()
    client.loop_stop()
    client.disconnect()
    warm = sites * per_site
    deadline = time.perf_counter() + 120
    while _count(influxd) < warm and time.perf_counter() < deadline:
        time.sleep(0.2)
    written_before = _points_written(influxd)
    load = {
        "port": port, "sites": sites, "copies": COPIES, "per_site": per_site, "rate": rate,
        "seconds": seconds, "period": period, "injections": injections_per_cycle,
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.e2e_load", json.dumps(load)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 300,
        check=True,
    )
    sent_info = json.loads(done.stdout.splitlines()[-1])
    readings = sent_info["readings"]
    started_s = sent_info["started_ns"] / 1e9
    last_change, seen, counted_at = time.time(), -1, -1
    while True:
        written = _points_written(influxd) - written_before
        now = time.time()
        if written != seen:
            seen, last_change = written, now
        if written >= readings and written != counted_at:  # alarm points count too: confirm in the readings
            counted_at = written
            if _count(influxd) - warm >= readings:
                break
        if now - last_change > 15 or now - started_s > seconds + 180:
            break
        time.sleep(0.25)
    stored = _count(influxd) - warm
    done_s = last_change - started_s
    time.sleep(1.0)
    sent = {(site, sensor): ns for site, sensor, ns in sent_info["sent"]}
    latencies = np.array([(hooks.arrivals[k] - t) / 1e6 for k, t in sent.items() if k in hooks.arrivals])
    return {
        "sensors": sites * per_site,
        "sites": sites,
        "offered_readings_per_s": readings / sent_info["published_s"],
        "published": readings,
        "stored": stored,
        "lost": readings - stored,
        "seconds_to_store_all": done_s,
        "readings_per_s": stored / done_s if done_s > 0 else None,
        "alarms_injected": len(sent),
        "alarms_delivered": len(latencies),
        "latency_p50_ms": float(np.percentile(latencies, 50)) if len(latencies) else None,
        "latency_p99_ms": float(np.percentile(latencies, 99)) if len(latencies) else None,
        "latency_max_ms": float(latencies.max()) if len(latencies) else None,
    }


def influxd_alone(sensors: int, cycles: int, batch_points: int = 10_000) -> float:
    """The ceiling: the same series written straight to a fresh influxd, 10k points per request, one
    request in flight (as InfluxSink sends), after one warm-up cycle has created every series."""
    import httpx

    from benchmarks.fleet import build_fleet
    from hazwatch.storage.lineprotocol import ReadingEncoder

    fleet = build_fleet(sensors, cycles=cycles + 1)
    encoder = ReadingEncoder(fleet.registry)
    chunks = []
    for cycle in range(cycles + 1):
        lines = encoder.encode(fleet.batch(cycle)).splitlines(keepends=True)
        chunks.append([b"".join(lines[i : i + batch_points]) for i in range(0, len(lines), batch_points)])
    with local_influxd() as influxd, httpx.Client(timeout=60) as client:
        client.post(f"{influxd.url}/query", params={"q": "CREATE DATABASE hazwatch"}).raise_for_status()
        params = {"db": "hazwatch", "precision": "ns"}
        for chunk in chunks[0]:
            client.post(f"{influxd.url}/write", params=params, content=chunk).raise_for_status()
        started = time.perf_counter()
        for cycle_chunks in chunks[1:]:
            for chunk in cycle_chunks:
                client.post(f"{influxd.url}/write", params=params, content=chunk).raise_for_status()
        return cycles * fleet.sensors / (time.perf_counter() - started)
