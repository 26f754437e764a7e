"""The MQTT load generator of the end-to-end run, in its own process so it competes with neither the
webhook receiver nor hazwatch for a GIL. Prints one JSON line: what it sent, and when each injected
over-limit reading left.

Each gateway publishes once per period, the gateways spread evenly over it: real gateways run on their
own clocks. (All of them at the same instant would put a whole period's readings, ~100k at 200k/s, in
front of an alarm sent last in the burst; that is a decode-time figure, not a sustained-load one.)"""

from __future__ import annotations

import json
import sys
import time

import paho.mqtt.client as paho

from benchmarks.e2e_site import TOPIC

INJECT_SENSOR = "LW-CH4-T1"
INJECT_VALUE = 2.0
"""Over the face methane power-cut limit (1.5 %): raises level 2 at once, no delay."""


def publish(
    port: int, sites: int, copies: int, per_site: int, rate: float, seconds: float, period: float, injections: int
) -> dict:
    from benchmarks.e2e import gateway_items

    items = gateway_items()
    site_ids = [f"mine-{i:05d}" for i in range(sites)]
    topics = [TOPIC.replace("{site}", s) for s in site_ids]
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-load")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent: dict[tuple[str, str], int] = {}
    inject_every = max(1, sites // injections)
    cycles = max(2, round(seconds / period))
    readings = 0
    t0_ns = time.time_ns() - 1_000_000
    started = time.perf_counter()
    for cycle in range(cycles):
        stamp = str(t0_ns + int(cycle * period * 1e9)).encode()
        body = items[cycle % len(items)]
        for i, topic in enumerate(topics):
            time.sleep(max(0.0, started + (cycle + i / sites) * period - time.perf_counter()))
            client.publish(topic, b'{"ts":' + stamp + b',"points":[' + body + b"]}", qos=1)
            readings += per_site
            if i % inject_every:
                continue
            key = (site_ids[(i + cycle * 7) % sites], f"{INJECT_SENSOR}-{(cycle * 13 + i) % copies}")
            if key in sent:
                continue
            now = time.time_ns()
            alarm = f'{{"ts":{now},"points":[{{"id":"{key[1]}","v":{INJECT_VALUE},"q":0}}]}}'
            client.publish(TOPIC.replace("{site}", key[0]), alarm.encode(), qos=1)
            sent[key] = now
            readings += 1
    published_s = time.perf_counter() - started
    client.loop_stop()
    client.disconnect()
    return {
        "readings": readings,
        "published_s": published_s,
        "started_ns": t0_ns,
        "sent": [[site, sensor, ns] for (site, sensor), ns in sent.items()],
    }


if __name__ == "__main__":
    print(json.dumps(publish(**json.loads(sys.argv[1]))))
