"""Assembles a running hazwatch from a config: sources, the detector stack, sinks and the operator API.

`hazwatch run` and `hazwatch demo` both build their pipeline here, so the demo exercises exactly
the production wiring.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from prometheus_client import REGISTRY

from collector.alarms.actions import AlarmActions
from collector.alarms.api import TOKEN_ENV, AlarmApi
from collector.alarms.handover import TakeOverReplay, take_over
from collector.alarms.kpi_writer import AlarmKpiWriter
from collector.alarms.records import HandlingRecorder
from collector.alarms.respond import RESPOND_PREFIX, ResponseDesk
from collector.alarms.responses import ResponseLinks
from collector.alarms.restart import restart_windows
from collector.alarms.store import AlarmStatePersister, AlarmStore, restore_lifecycle
from collector.console.app import PREFIX as CONSOLE_PREFIX
from collector.console.app import Console
from collector.console.feed import ConsoleFeed
from collector.console.users import Users
from collector.notify.alertmanager import AlertmanagerFeed
from collector.notify.log_sink import LogEventSink
from collector.notify.mqtt_alarms import MqttAlarmSink
from collector.notify.system_alarms import SystemAlarms
from collector.notify.webhooks import WebhookNotifier
from collector.pipeline.detection import build_detector_stack
from collector.pipeline.intake import IntakeCheck
from collector.pipeline.loop import Pipeline
from collector.pipeline.partition import OwnedConditions, Partition
from collector.pipeline.protocols import EventSink, ReadingSink, Source
from collector.pipeline.roles import NoDetection, Role
from collector.pipeline.snapshot import DetectorSnapshots, SnapshotWriter, fingerprint
from collector.sources.batches.source import batch_sources
from collector.sources.modbus.source import modbus_sources
from collector.sources.mqtt.source import MqttSource, mqtt_sources
from collector.storage.batch_forwarder import BatchForwarder
from collector.storage.health_writer import HealthWriter
from collector.storage.influx import InfluxSink
from collector.storage.lpfile import LineProtocolFileSink
from collector.storage.warmup import readings_since
from collector.telemetry.health import Health
from collector.telemetry.metrics_server import serve_metrics
from collector.views.status import StatusView
from detectors.alarms.lifecycle import AlarmLifecycle
from detectors.alarms.restart import RestartCheck
from hazwatch.batch import ReadingBatch
from hazwatch.config import HazwatchConfig, SensorRegistry
from hazwatch.config.notify import Subscriber
from hazwatch.config.partition import PartitionSpec

log = logging.getLogger("hazwatch.runtime")


@dataclass
class RunOptions:
    influx_url: str | None = None
    """Overrides the config's InfluxDB URL; ignored when `line_protocol_file` is given."""
    line_protocol_file: Path | None = None
    """Write readings and alarms to this file instead of InfluxDB (the demo's fallback)."""
    mqtt_url: str | None = None
    mqtt_protocol: str | None = None
    webhook_urls: Sequence[str] = ()
    """Extra subscribers that get every event (e.g. `hazwatch demo --webhook-url`)."""
    state_dir: Path | None = None
    api_port: int | None = None
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"
    """Where /metrics, /healthz and /readyz listen: 0.0.0.0 in a container so the kubelet reaches the probes."""
    status_view: bool = False
    partition: PartitionSpec | None = None
    """Own only this partition's sensors (`hazwatch run --partition K/N`, docs/scaling.md)."""
    role: Role = "standalone"
    """standalone, edge (publish batches only) or core (read the edges' batches); collector/pipeline/roles.py."""
    publish_batches: bool = False
    """A standalone worker also publishes its reading batches for core workers."""
    users_file: Path | None = None
    """Console users (overrides the config's `console.users_file`); with `api_port`, serves the console."""


@dataclass
class Runtime:
    config: HazwatchConfig
    registry: SensorRegistry
    pipeline: Pipeline
    lifecycle: AlarmLifecycle
    store: AlarmStore
    persister: AlarmStatePersister
    api: AlarmApi | None
    status: StatusView | None
    storage: InfluxSink | LineProtocolFileSink
    metrics_port: int | None
    metrics_address: str = "127.0.0.1"
    warmup: Callable[[], Iterator[ReadingBatch]] | None = None
    """After a restore from a detector snapshot: the stored readings it missed, replayed before going live."""
    taken_over: TakeOverReplay | None = None
    """After a change of partitions (no snapshot for this one): the warm-up rebuilds the windows silently."""

    def dispatch(self, events: list) -> None:
        """Operator actions (ack, shelve, reset) produce events that go to the same sinks as detector events."""
        self.pipeline.dispatch(events)


def _with_overrides(config: HazwatchConfig, options: RunOptions) -> HazwatchConfig:
    update: dict[str, object] = {}
    if options.partition:
        client_id = f"{config.mqtt.client_id}-p{options.partition.index}of{options.partition.count}"
        update["mqtt"] = config.mqtt.model_copy(update={"client_id": client_id})
    if options.influx_url:
        update["influxdb"] = config.influxdb.model_copy(update={"url": options.influx_url})
    if options.mqtt_url:
        update["mqtt"] = update.get("mqtt", config.mqtt).model_copy(update={"url": options.mqtt_url})
    if options.webhook_urls:
        extra = [Subscriber(name=f"cli-{i}", url=url) for i, url in enumerate(options.webhook_urls)]
        update["webhooks"] = config.webhooks.model_copy(update={"subscribers": [*config.webhooks.subscribers, *extra]})
    if options.users_file:
        update["console"] = config.console.model_copy(update={"users_file": str(options.users_file)})
    if options.state_dir:
        update["state_dir"] = str(options.state_dir)
        if not options.line_protocol_file:
            spool = Path(options.state_dir) / "spool"
            update["influxdb"] = update.get("influxdb", config.influxdb).model_copy(update={"spool_dir": str(spool)})
    return config.model_copy(update=update)


def build_runtime(config: HazwatchConfig, options: RunOptions) -> Runtime:
    config = _with_overrides(config, options)
    registry = SensorRegistry.from_config(config)
    state_dir = Path(config.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)

    partition = Partition(config, registry, options.partition) if options.partition else None
    source_config = partition.source_config if partition is not None else config
    has_mqtt_devices = any(d.protocol == "mqtt" for site in config.sites for d in site.devices)
    sources: list[Source] = []
    if options.role == "core":
        owned = partition.owned_sensors if partition is not None else None
        sources += batch_sources(config, registry, owned, config.mqtt.url, options.mqtt_protocol)
    else:
        sources += modbus_sources(source_config, registry)
        if has_mqtt_devices:
            sources += mqtt_sources(source_config, registry, config.mqtt.url, options.mqtt_protocol)
    if partition is not None:
        log.info("partition %s owns %d of %d sensors", partition.spec, partition.size, len(registry))

    lifecycle = AlarmLifecycle()
    store = AlarmStore.in_state_dir(state_dir)
    restored = restore_lifecycle(lifecycle, store, registry)
    if restored:
        log.info("restored %d active alarms from %s", restored, state_dir)
    persister = AlarmStatePersister(lifecycle, store, registry)
    links = ResponseLinks.from_settings(config.webhooks.responses)
    api_served = options.api_port is not None and bool(os.environ.get(TOKEN_ENV) or config.console.users_file)
    if links is not None and not api_served:
        # A link that leads nowhere would tell the person paged they can answer when they cannot.
        log.warning("response links not sent: they need the alarm API (--api-port, and %s or a console)", TOKEN_ENV)
        links = None
    detected = OwnedConditions(lifecycle, partition.owned_slots) if partition is not None else lifecycle
    stack = build_detector_stack(registry, config, detected)
    snapshots = DetectorSnapshots(state_dir, registry, _fingerprint(config, options))
    resumed_from = snapshots.restore(stack) if options.role != "edge" else None
    warmup = None
    taken_over = None
    if partition is not None:
        moved_away = lifecycle.release(partition.owned_slots)
        if moved_away:
            log.info("let go of %d active alarms of sensors another partition owns now: it resumes them", moved_away)
        if resumed_from is None and options.role != "edge" and not options.line_protocol_file:
            restored += take_over(lifecycle, config.influxdb, registry, partition.owned_slots)
            if config.partitioning.takeover_replay_s > 0:
                taken_over = TakeOverReplay(stack)
                since = time.time_ns() - int(config.partitioning.takeover_replay_s * 1e9)
                warmup = functools.partial(readings_since, config.influxdb, registry, partition.owned, since)
    if resumed_from is not None:
        stack = resumed_from.stack
        if not options.line_protocol_file:
            owned = partition.owned if partition is not None else np.ones(len(registry), dtype=bool)
            since = resumed_from.saved_ns - WARMUP_MARGIN_NS
            warmup = functools.partial(readings_since, config.influxdb, registry, owned, since)

    storage: InfluxSink | LineProtocolFileSink = (
        LineProtocolFileSink(options.line_protocol_file, registry)
        if options.line_protocol_file
        else InfluxSink(config.influxdb, registry)
    )
    health_writer = HealthWriter(write=storage.submit_lines)
    if options.partition:  # workers of one host must not overwrite each other's self-metrics series
        suffix = f"-p{options.partition.index}of{options.partition.count}"
        health_writer = HealthWriter(write=storage.submit_lines, instance=health_writer.instance + suffix)
    reading_sinks: list[ReadingSink] = [health_writer, storage]
    system = SystemAlarms([site.id for site in config.sites], {"alarm state": lambda: persister.error})
    if isinstance(storage, InfluxSink):
        system.watch("write-ahead log", lambda: storage.disk_error)
    event_sinks: list[EventSink] = [
        LogEventSink(registry),
        persister,
        HandlingRecorder(store, registry),
        WebhookNotifier(
            config.webhooks, registry, state_dir, response_link=links.link_for if links else None, system=system
        ),
        AlarmKpiWriter(registry, storage.submit_lines, lambda: [alarm.slot for alarm in lifecycle.active()]),
    ]
    if has_mqtt_devices or options.mqtt_url:
        event_sinks.append(MqttAlarmSink(config.mqtt, registry))
    if any(s.format == "alertmanager" for s in config.webhooks.subscribers):
        feed_links = links.url_for if links else None
        event_sinks.append(AlertmanagerFeed(config.webhooks, registry, lifecycle.active, response_link=feed_links))
    status = None
    if options.status_view:
        status = StatusView(registry.sensors)
        reading_sinks.insert(0, status)
        event_sinks.insert(0, status)
    users = Users.load(config.console.users_file) if config.console.users_file else None
    feed = ConsoleFeed(registry) if users else None
    if feed is not None:
        event_sinks.append(feed)
    event_sinks.append(storage)
    if options.role == "edge":
        reading_sinks, event_sinks = [BatchForwarder(config, registry)], []
    else:
        reading_sinks.append(SnapshotWriter(snapshots, stack))
        if options.publish_batches:
            reading_sinks.append(BatchForwarder(config, registry))
    intake = IntakeCheck(config.intake, [info.key for info in registry.sensors])
    if options.role == "edge":
        detector = NoDetection()
    else:
        # Restored alarms are checked against the first readings: confirmed, or cleared (latched stays latched).
        # A restored detector snapshot already carries the windows those alarms came from: its own rules decide.
        checked = restored and resumed_from is None
        detector = RestartCheck(stack, lifecycle, restart_windows(registry)) if checked else stack
    journal = storage if isinstance(storage, InfluxSink) else None
    pipeline = Pipeline(sources, detector, reading_sinks, event_sinks, intake=intake, journal=journal)

    api = None
    if options.api_port is not None:
        actions = AlarmActions(lifecycle, registry, store, pipeline.dispatch, persister)
        desk = ResponseDesk(links, actions) if links else None
        api = _operator_server(actions, users, feed, config, desk)
    return Runtime(
        config,
        registry,
        pipeline,
        lifecycle,
        store,
        persister,
        api,
        status,
        storage,
        options.metrics_port,
        options.metrics_address,
        warmup,
        taken_over,
    )


WARMUP_SEND_TIMEOUT_S = 10.0
"""How long a restarting worker waits for InfluxDB to take what its write-ahead log held, before its warm-up."""
WARMUP_MARGIN_NS = 60 * 10**9
"""Replay from this long before the snapshot: readings stamped by their devices can lag their arrival."""


def _fingerprint(config: HazwatchConfig, options: RunOptions) -> str:
    """What a detector snapshot must match: the sensors, limits and detector settings, and the partition."""
    return fingerprint(
        config.model_dump_json(include={"sites", "partitioning"}), str(options.partition), options.role
    )


async def _warm_up(runtime: Runtime) -> None:
    """Replay what the restored detectors missed; their events carry the same ids as the first time round,
    so a receiver that already has them de-duplicates them, and one that missed them gets them now. After a change
    of partitions, `partitioning.takeover_replay_s` of the owned sensors' history instead, announcing nothing
    (TakeOverReplay)."""
    if runtime.warmup is None:
        return
    if isinstance(runtime.storage, InfluxSink):
        await runtime.storage.send_held(WARMUP_SEND_TIMEOUT_S)
    slices = runtime.warmup()
    replay = runtime.taken_over
    replayed = 0
    try:
        while (batch := await asyncio.to_thread(next, slices, None)) is not None:
            if replay is not None:
                replay.update(batch)
            else:
                runtime.dispatch(runtime.pipeline.detector.update(batch))
            replayed += len(batch)
    except (httpx.HTTPError, RuntimeError) as error:
        log.warning("warm-up from InfluxDB failed (%s): detectors continue from where it got to", error)
    finally:
        slices.close()
    if replay is not None:  # also after a failed read: what was replayed must agree with the alarms
        runtime.dispatch(replay.finish(time.time_ns()))
    into = "taken-over (windows rebuilt, nothing announced again)" if replay is not None else "restored"
    log.info("warm-up: %d stored readings replayed through the %s detectors", replayed, into)


def sources_ready(runtime: Runtime) -> tuple[bool, str]:
    """Ready once every MQTT source is connected and subscribed (Modbus devices that are down raise alarms,
    they do not make the worker unready)."""
    names = [source.name for source in runtime.pipeline.sources if isinstance(source, MqttSource)]
    down = [name for name in names if REGISTRY.get_sample_value("hazwatch_mqtt_connected", {"source": name}) != 1]
    if down:
        return False, f"MQTT source(s) not subscribed: {', '.join(down)}"
    return True, f"{len(runtime.pipeline.sources)} source(s) running"


def _operator_server(
    actions: AlarmActions,
    users: Users | None,
    feed: ConsoleFeed | None,
    config: HazwatchConfig,
    desk: ResponseDesk | None = None,
) -> AlarmApi | None:
    """The alarm API for scripts (bearer token) and, with a users file, the operators' console on the same port."""
    token = os.environ.get(TOKEN_ENV)
    if not token and users is None:
        log.warning("alarm API not started: set %s (scripts) or a console users file (operators)", TOKEN_ENV)
        return None
    if not token:
        log.info("alarm JSON API closed (%s not set); the console is served", TOKEN_ENV)
    open_prefixes = (CONSOLE_PREFIX, RESPOND_PREFIX) if desk is not None else (CONSOLE_PREFIX,)
    api = AlarmApi(actions, token=token or secrets.token_urlsafe(32), open_prefixes=open_prefixes)
    if users is not None and feed is not None:
        api.extend(Console(actions, feed, users, config.console).install)
    if desk is not None:
        api.extend(desk.add_routes)  # a response link's signed token is its own credential
    return api


async def serve(runtime: Runtime, stop: asyncio.Event, api_port: int | None = None) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM), then flush every sink and stop the API."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await _warm_up(runtime)
    resumed = getattr(runtime.pipeline.detector, "resumed", None)
    if resumed is not None:
        resumed(time.time_ns())
    health = Health(ready=lambda: sources_ready(runtime))
    beat = asyncio.create_task(health.beat(), name="health")
    metrics_server = (
        serve_metrics(runtime.metrics_port, runtime.metrics_address, health) if runtime.metrics_port else None
    )
    if runtime.api is not None and api_port is not None:
        url = await runtime.api.start(port=api_port)
        log.info("alarm API on %s", url)
    try:
        await runtime.pipeline.run(stop)
    finally:
        if runtime.api is not None:
            await runtime.api.stop()
        beat.cancel()
        if metrics_server is not None:
            metrics_server.shutdown()
        runtime.store.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
