"""The long fuzz run: `python -m tests.support.fuzz --inputs 1000000 [--seed N]`.

Structure-aware generators (hostile JSON leaves, year-2200 timestamps, wrong-typed values, then byte-level
mutations of the serialised payload) feed every target in tests/support/fuzz_targets.py: the MQTT payload
decoders in all their forms, whole Modbus responses, the config loader, and a real running operator API.
Decoded batches also go through the real intake check, detector stack and status view. The first broken
invariant stops the run and prints the input that broke it; a clean run prints the counts and the time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from collector.alarms.actions import AlarmActions
from collector.alarms.api import AlarmApi
from collector.alarms.store import AlarmStore
from collector.app.localservices import free_port
from detectors.alarms.lifecycle import AlarmLifecycle
from hazwatch.batch import ReadingBatch
from tests.support.fuzz_targets import (
    CONFIG_SEED,
    FORMS,
    MINE_REGISTRY,
    MODBUS_REQUESTS,
    NOW_NS,
    SENSORS,
    YEAR_2200_S,
    CurrentValueWatch,
    check_api_answer,
    check_config,
    check_modbus,
    check_payload,
)

NOW_S = NOW_NS // 10**9
TOKENS = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"true", b"false", b"null", b'"', b"{", b"[", b"]", b"}",
          b"\xff", b"\\u0000", b"\\ud800", b",", b":", b"0x10", b"1_000", b"-0", b"9" * 400]  # fmt: skip
TEXT_VALUES = ["12.5", " 7 ", "1_000", "NaN", "nan", "inf", "-Infinity", "", "\u0663", "0x10", "1e999", "12,5",
               "true", "null", "\x00", "9" * 30, "+.5", "5.", "-", "e5", "1e-400"]  # fmt: skip


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if pick < 0.35:
        return rng.choice([rng.uniform(-1e3, 1e3), rng.randint(-100, 100), 0, -0.0, 1e308, 5e-324, 60.0, 2**63])
    if pick < 0.45:
        return rng.choice([True, False])
    if pick < 0.6:
        return rng.choice(TEXT_VALUES)
    if pick < 0.7:
        return rng.choice([float("nan"), float("inf"), float("-inf"), 10**400, -(10**30)])
    if pick < 0.75:
        return None
    if depth < 2 and pick < 0.85:
        return [hostile_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2:
        return {rng.choice(["v", "value", "x"]): hostile_value(rng, depth + 1)}
    return "".join(chr(rng.randint(0, 0x2FF)) for _ in range(rng.randint(0, 8)))


def hostile_time(rng: random.Random) -> Any:
    return rng.choice([
        None, NOW_S, NOW_S * 1000, NOW_S * 10**9, NOW_S - 3600, NOW_S + 5, NOW_S + 31,
        YEAR_2200_S, YEAR_2200_S * 1000, YEAR_2200_S * 10**9, "2200-01-01T00:00:00Z", "2200-01-01T00:00:00",
        "2027-01-15T08:00:00+08:00", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", 0, -5, 1e30, 2**64,
        float(NOW_S) + 0.25, str(NOW_S * 1000), "yesterday", True, [NOW_S], {"t": 1}, float("nan"),
    ])  # fmt: skip


def hostile_quality(rng: random.Random) -> Any:
    return rng.choice([None, "good", "OK", "fault", "Comm-Fail", "cal", "pseudo", 0, 1, 2, 4, 99, -1, True, "purple",
                       "", 0.0, ["good"]])  # fmt: skip


def sensor_id(rng: random.Random) -> Any:
    return rng.choice([*SENSORS, *SENSORS, "NOPE", "", 7, None, SENSORS[0].lower(), True])


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        at = rng.randint(0, len(out)) if out else 0
        if op < 0.3 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randint(0, 7)
        elif op < 0.5:
            del out[at : at + rng.randint(1, 16)]
        elif op < 0.8:
            out[at:at] = rng.choice(TOKENS)
        elif out:
            end = min(len(out), at + rng.randint(1, 32))
            out[at:at] = out[at:end]
    return bytes(out)


def influx_field(rng: random.Random) -> str:
    value = rng.choice([f"{rng.uniform(-1e3, 1e3)!r}", f"{rng.randint(-9, 99)}i", "t", "false", '"warm"', "NaN",
                        "1e999", f"{rng.randint(0, 2**70)}i", "-Infinity", "", "1_0"])  # fmt: skip
    return f"{sensor_id(rng)}={value}"


def influx_payload(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(0, 6)):
        fields = ",".join(influx_field(rng) for _ in range(rng.randint(1, 4)))
        stamp = rng.choice(["", str(NOW_NS), str(YEAR_2200_S * 10**9), str(NOW_S), "-5", "9" * 30, "x"])
        lines.append(f"modbus,host=gw{rng.randint(0, 3)} {fields} {stamp}".rstrip())
    return "\n".join(lines)


def thingsboard_payload(rng: random.Random) -> Any:
    devices: dict[str, Any] = {}
    for d in range(rng.randint(0, 3)):
        samples = [{"ts": hostile_time(rng), "values": {str(sensor_id(rng)): hostile_value(rng)
                                                        for _ in range(rng.randint(0, 4))}}
                   for _ in range(rng.randint(0, 3))]  # fmt: skip
        devices[f"dev-{d}"] = samples if rng.random() < 0.8 else rng.choice([7, "x", None, {"values": 1}])
    return devices


def payload_for(rng: random.Random, form_name: str) -> bytes:
    if form_name == "influx":
        raw = influx_payload(rng).encode()
        return mutate(rng, raw) if rng.random() < 0.3 else raw
    if form_name == "thingsboard":
        raw = json.dumps(thingsboard_payload(rng)).encode()
        return mutate(rng, raw) if rng.random() < 0.3 else raw
    if form_name == "number":
        text = rng.choice([*TEXT_VALUES, repr(rng.uniform(-1e6, 1e6)), str(rng.randint(-10, 10**6))])
        raw = text.encode("utf-8", "surrogatepass")
    else:
        if form_name == "json":
            document: Any = {"reading": {"value": hostile_value(rng), "ts": hostile_time(rng),
                                         "status": hostile_quality(rng)}}  # fmt: skip
        elif form_name == "json_text":
            document = {"v": hostile_value(rng), "t": hostile_time(rng), "q": hostile_quality(rng)}
        else:
            deep = form_name == "gateway_deep"
            items = []
            for _ in range(rng.randint(0, 12)):
                if deep:
                    reading = {"v": hostile_value(rng), "ts": hostile_time(rng)}
                    items.append({"meta": {"id": sensor_id(rng)}, "r": reading, "q": hostile_quality(rng)})
                elif rng.random() < 0.6:
                    items.append({"id": sensor_id(rng), "v": rng.uniform(0, 100), "ts": NOW_S * 1000, "q": 0})
                else:
                    item = {"id": sensor_id(rng), "v": hostile_value(rng)}
                    if rng.random() < 0.7:
                        item["ts"] = hostile_time(rng)
                    if rng.random() < 0.5:
                        item["q"] = hostile_quality(rng)
                    items.append(item)
            if rng.random() < 0.15:
                points: Any = {str(i.get("id") if "id" in i else i.get("meta", {}).get("id")): i.get("v", 1.0)
                               for i in items}  # fmt: skip
            else:
                points = items
            document = {"data": {"points": points}} if deep else {"points": points, "ts": hostile_time(rng)}
        raw = json.dumps(document).encode()
    return mutate(rng, raw) if rng.random() < 0.3 else raw


def modbus_words(rng: random.Random, count: int) -> list[int]:
    special = [0xFFFF, 0x7FFF, 0x8000, 0x0000, 0x7FC0, 0x7F80, 0xFF80, 0x7FF8, 0x7FF0, 0x8001]
    return [rng.choice(special) if rng.random() < 0.4 else rng.randint(0, 0xFFFF) for _ in range(count)]


SMALL_CONFIG = b"""sites:
- id: s1
  type: chemical_plant
  areas:
  - id: a1
    kind: process_unit
    sensors:
    - {id: LEL-1, kind: LEL}
    - {id: TT-1, kind: temperature, range: [0, 200]}
  devices:
  - id: gds
    protocol: mqtt
    sensors: [LEL-1, TT-1]
    topics:
    - {pattern: "p/{sensor}", payload: json}
intake: {max_future_s: 30}
"""
CONFIG_TOKENS = [b"&a ", b"*a", b"[", b"{", b"]", b": ", b"\n- ", b"\xff", b"!!python/object:os.system ", b"~",
                 b"'", b'"', b"\t", b"<<: *a", b"-1e999", b".nan", b"\x00"]  # fmt: skip


def config_bytes(rng: random.Random) -> bytes:
    seed = CONFIG_SEED if rng.random() < 0.1 else SMALL_CONFIG
    lines = seed.split(b"\n")
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        at = rng.randrange(len(lines))
        if op < 0.25:
            del lines[at]
        elif op < 0.45:
            lines.insert(at, lines[rng.randrange(len(lines))])
        elif op < 0.8:
            line = lines[at]
            cut = rng.randint(0, len(line))
            lines[at] = line[:cut] + rng.choice(CONFIG_TOKENS) + line[cut:]
        else:
            lines[at] = lines[at].split(b":")[0] + b": " + rng.choice([b"[" * 200, b"*a", b"-5", b"1e400", b"true"])
    return b"\n".join(lines)


def api_body(rng: random.Random) -> bytes:
    body: dict[str, Any] = {}
    if rng.random() < 0.9:
        body["user"] = rng.choice(["op", "  li.wei ", "", " ", "x" * 129, "a\nb", 7, ["op"], None, "\u0663" * 5])
    if rng.random() < 0.5:
        body["minutes"] = rng.choice([30, 0, -1, 1440, 1441, "30", None, [30], {"m": 1}, True, 1e400, 0.5])
    if rng.random() < 0.3:
        body["comment"] = rng.choice(["ok", "c" * 2001, 5, None, "\x00"])
    raw = json.dumps(body).encode()
    if rng.random() < 0.1:
        raw = b'{"user": ' + b"[" * rng.randint(100, 30_000) + b"]}"
    return mutate(rng, raw) if rng.random() < 0.3 else raw


class RunningApi:
    """A real AlarmApi on a free port, on its own event loop thread."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="hazwatch-fuzz-")
        self.store = AlarmStore.in_state_dir(Path(self.folder.name))
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        actions = AlarmActions(AlarmLifecycle(), MINE_REGISTRY, self.store, lambda events: None)
        self.api = AlarmApi(actions, token="fuzz-token-123")
        port = free_port()
        self.url = asyncio.run_coroutine_threadsafe(self.api.start("127.0.0.1", port), self.loop).result(10)
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": "Bearer fuzz-token-123"}, timeout=30)

    def post(self, rng: random.Random, body: bytes) -> httpx.Response:
        sensor = rng.choice(["LW-CH4-T1", "LW-CO-T0", "NOPE"])
        action = rng.choice(["ack", "shelve", "unshelve", "reset", "zap"])
        if rng.random() < 0.2:
            path = f"/sensors/xinyuan-mine/{sensor}/{rng.choice(['out_of_service', 'return_to_service'])}"
        else:
            path = f"/alarms/xinyuan-mine/{sensor}/threshold.high/{action}"
        return self.client.post(path, content=body, headers={"Content-Type": "application/json"})

    def close(self) -> None:
        self.client.close()
        asyncio.run_coroutine_threadsafe(self.api.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.store.close()
        self.folder.cleanup()


SHARES = {"mqtt": 0.80, "modbus": 0.15, "config": 0.025, "api": 0.025}


def run(inputs: int, seed: int, report: Callable[[str], None] = print) -> Counter:
    rng = random.Random(seed)
    counts: Counter = Counter()
    watch = CurrentValueWatch()
    api = RunningApi()
    pending: list[ReadingBatch] = []
    started = time.monotonic()
    plan = [(name, round(inputs * share)) for name, share in SHARES.items()]
    try:
        for name, n in plan:
            for i in range(n):
                detail: Any = None
                try:
                    if name == "mqtt":
                        form = rng.choice(FORMS).name
                        payload = payload_for(rng, form)
                        sensor = rng.choice([*SENSORS, None, "NOPE"])
                        detail = (form, payload, sensor)
                        decoded = check_payload(form, payload, sensor)
                        counts["mqtt_good_rows"] += int((decoded.batch.quality == 0).sum())
                        counts["mqtt_rejections"] += len(decoded.rejections)
                        pending.append(decoded.batch)
                        if len(pending) >= 64:
                            watch.feed(ReadingBatch.concat(pending))
                            pending.clear()
                    elif name == "modbus":
                        index = rng.randrange(len(MODBUS_REQUESTS))
                        words = modbus_words(rng, MODBUS_REQUESTS[index].count)
                        detail = (index, words)
                        check_modbus(index, words)
                    elif name == "config":
                        raw = config_bytes(rng)
                        detail = raw
                        counts["config_accepted"] += check_config(raw) is not None
                    else:
                        body = api_body(rng)
                        detail = body
                        response = api.post(rng, body)
                        check_api_answer(response, body)
                        counts[f"api_{response.status_code}"] += 1
                except Exception:
                    report(f"invariant broken by {name} input #{i} (seed {seed}): {detail!r:.2000}")
                    raise
                counts[name] += 1
                if (i + 1) % 100_000 == 0:
                    report(f"  {name}: {i + 1:,} inputs, {time.monotonic() - started:.0f} s")
        if pending:
            watch.feed(ReadingBatch.concat(pending))
    finally:
        api.close()
    counts["readings_through_detectors"] = watch.readings
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def main(argv: list[str] | None = None) -> int:
    logging.disable(logging.WARNING)  # refusals are logged by design; a million of them would drown the report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="total inputs across all targets")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args(argv)
    try:
        counts = run(args.inputs, args.seed)
    except Exception:
        return 1
    total = sum(counts[name] for name in SHARES)
    print(f"{total:,} inputs in {counts['seconds']} s, no invariant broken")
    for key, value in sorted(counts.items()):
        print(f"  {key}: {value:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
