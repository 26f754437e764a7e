"""The hazwatch side of the end-to-end run, in its own process: MQTT sources → detector stack →
InfluxSink + WebhookNotifier, wired exactly as `hazwatch run` wires them. Prints READY once every
source is subscribed; stops (draining and flushing every sink) when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from prometheus_client import REGISTRY

from benchmarks.e2e_site import e2e_config
from collector.notify.webhooks import WebhookNotifier
from collector.pipeline.detection import build_detector_stack
from collector.pipeline.loop import Pipeline
from collector.pipeline.partition import OwnedConditions, Partition
from collector.sources.mqtt.source import mqtt_sources
from collector.storage.influx import InfluxSink
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.engine.stack import Lifecycle
from hazwatch.config.partition import PartitionSpec
from hazwatch.config.registry import SensorRegistry


async def main(args: dict) -> None:
    partition = args.pop("partition", None)
    config = e2e_config(**args)
    registry = SensorRegistry.from_config(config)
    lifecycle = AlarmLifecycle()
    detected: Lifecycle = lifecycle
    source_config = config
    if partition is not None:  # as `hazwatch run --partition K/N` wires it (collector/app/runtime.py)
        config = config.model_copy(
            update={"mqtt": config.mqtt.model_copy(update={"client_id": f"{config.mqtt.client_id}-{partition}"})}
        )
        owned = Partition(config, registry, PartitionSpec.parse(partition))
        source_config, detected = owned.source_config, OwnedConditions(lifecycle, owned.owned_slots)
    sources = mqtt_sources(source_config, registry)
    influx = InfluxSink(config.influxdb, registry)
    webhooks = WebhookNotifier(config.webhooks, registry, config.state_dir, secret=b"benchmark-secret")
    stack = build_detector_stack(registry, config, detected)
    pipeline = Pipeline(sources, stack, [influx], [influx, webhooks])
    stop = asyncio.Event()
    running = asyncio.create_task(pipeline.run(stop))
    names = [source.name for source in sources]
    while not all(REGISTRY.get_sample_value("hazwatch_mqtt_connected", {"source": n}) == 1 for n in names):
        await asyncio.sleep(0.05)
    while not influx.prepared:
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    cpu_at_ready = time.process_time()
    await asyncio.to_thread(sys.stdin.read)
    stop.set()
    await running
    print(json.dumps({"backlog": influx.backlog, "cpu_s": time.process_time() - cpu_at_ready}), flush=True)


def run(args: dict) -> None:
    """With HAZWATCH_BENCH_PROFILE=path, pyinstrument records the whole run (all threads' asyncio side) there."""
    target = os.environ.get("HAZWATCH_BENCH_PROFILE")
    if not target:
        asyncio.run(main(args))
        return
    from pyinstrument import Profiler

    with Profiler(interval=0.001) as profiler:
        asyncio.run(main(args))
    with open(target, "w") as handle:
        handle.write(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    run(json.loads(sys.argv[1]))
