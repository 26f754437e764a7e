"""`hazwatch simulate plant CONFIG --mqtt-url URL`: publish a simulated chemical plant over MQTT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from collector.app.cli.app import EXIT_BAD_CONFIG, EXIT_RUNTIME, console, err_console, load_or_exit
from collector.app.cli.scenario_cli import SiteKind
from collector.app.cli.scenario_cli import export as export_scenario
from collector.app.cli.simulate import ExportOption, ScenarioOption, simulate_app

if TYPE_CHECKING:
    from simulators.mqtt_publisher import MqttSitePublisher


async def _publish(publishers: list[MqttSitePublisher], interval: float, duration: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(p.run(interval, duration)) for p in publishers]
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in (stopper, *tasks):
        task.cancel()
    await asyncio.gather(stopper, *tasks, return_exceptions=True)


@simulate_app.command()
def plant(
    config: Annotated[Path, typer.Argument(help="chemical-plant site config (YAML)")],
    mqtt_url: Annotated[
        str | None, typer.Option(help="broker, mqtt://host:port or mqtts://... (default: the config's mqtt.url)")
    ] = None,
    seed: Annotated[int, typer.Option(help="noise seed: the same seed gives the same run")] = 0,
    interval: Annotated[
        float | None, typer.Option(min=0.05, help="seconds between rounds (default: the devices' expected_interval)")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="seconds to run (default: until Ctrl-C)")] = None,
    protocol: Annotated[str, typer.Option(help="MQTT protocol version the simulated devices speak: 3.1.1 or 5")] = (
        "3.1.1"
    ),
    scenario: ScenarioOption = None,
    export: ExportOption = None,
) -> None:
    """Publish every MQTT sensor of a plant config on its configured topics and payload forms."""
    if export is not None:
        export_scenario(SiteKind.plant, config, scenario, export)
        return
    from collector.sources.mqtt.source import broker_address
    from hazwatch.config.schema import MqttDevice
    from hazwatch.credentials import SecretProblem, redact
    from simulators.mqtt_publisher import MqttSitePublisher
    from simulators.physics.presets import plant_preset
    from simulators.scenarios.loader import load_scenario, scenario_model

    loaded = load_or_exit([config])
    if protocol not in ("3.1.1", "5"):
        err_console.print(f"[bold red]--protocol {protocol}[/]: use 3.1.1 or 5")
        raise typer.Exit(EXIT_BAD_CONFIG)
    sites = [s for s in loaded.sites if any(isinstance(d, MqttDevice) for d in s.devices)]
    if not sites:
        err_console.print(f"[bold red]no MQTT devices[/] in {config}")
        raise typer.Exit(EXIT_BAD_CONFIG)
    url = mqtt_url or loaded.mqtt.url
    try:
        address = broker_address(loaded.mqtt, url)
    except (ValueError, SecretProblem) as exc:
        err_console.print(f"[bold red]MQTT broker[/] {redact(url)}: {redact(str(exc))}")
        raise typer.Exit(EXIT_BAD_CONFIG) from None
    credentials = (address.username, address.password) if address.username is not None else None
    every = interval or min(d.expected_interval for s in sites for d in s.devices if isinstance(d, MqttDevice))
    models = [
        scenario_model(loaded, load_scenario(scenario)) if scenario else plant_preset(s, seed=seed) for s in sites
    ]
    try:
        publishers = [
            MqttSitePublisher(site, model, url, protocol, address.tls_files, credentials)
            for site, model in zip(sites, models, strict=True)
        ]
        for publisher in publishers:
            publisher.connect()
    except (OSError, ValueError) as exc:
        err_console.print(f"[bold red]cannot reach the MQTT broker[/] {address}: {redact(str(exc))}")
        raise typer.Exit(EXIT_RUNTIME) from None
    for publisher in publishers:
        topics = sorted({p.topic.pattern for p in publisher.publications})
        console.print(f"[bold]{publisher.site.id}[/] → {address} every {every:g} s: {', '.join(topics)}")
    try:
        asyncio.run(_publish(publishers, every, duration))
    finally:
        for publisher in publishers:
            publisher.close()
