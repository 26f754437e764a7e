"""`/healthz` and `/readyz` beside `/metrics`: what a supervisor restarts on, and what a rollout waits for."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from collector.app.localservices import free_port
from collector.telemetry import metrics
from collector.telemetry.health import Health
from collector.telemetry.metrics_server import serve_metrics


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def probes():
    clock = Clock()
    readiness = {"ok": False}
    health = Health(ready=lambda: (readiness["ok"], "mqtt subscribed" if readiness["ok"] else "mqtt down"),
                    stale_after_s=5.0, clock=clock)
    port = free_port()
    server = serve_metrics(port, health=health)
    yield health, clock, readiness, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def _beat_once(health: Health) -> None:
    async def one() -> None:
        task = asyncio.create_task(health.beat(every_s=60))
        await asyncio.sleep(0)
        task.cancel()

    asyncio.run(one())


def test_a_worker_whose_loop_never_started_is_neither_live_nor_ready(probes) -> None:
    _health, _clock, _readiness, url = probes
    assert httpx.get(f"{url}/healthz").status_code == 503
    assert httpx.get(f"{url}/readyz").status_code == 503


def test_live_while_the_loop_beats_and_ready_only_once_its_sources_are(probes) -> None:
    health, _clock, readiness, url = probes
    _beat_once(health)
    assert httpx.get(f"{url}/healthz").status_code == 200
    response = httpx.get(f"{url}/readyz")
    assert response.status_code == 503 and "mqtt down" in response.text
    readiness["ok"] = True
    assert httpx.get(f"{url}/readyz").status_code == 200


def test_a_loop_silent_longer_than_the_limit_is_dead_so_the_supervisor_restarts_it(probes) -> None:
    health, clock, readiness, url = probes
    readiness["ok"] = True
    _beat_once(health)
    clock.now += 6.0
    response = httpx.get(f"{url}/healthz")
    assert response.status_code == 503 and "silent for 6.0 s" in response.text
    assert httpx.get(f"{url}/readyz").status_code == 503


def test_metrics_are_still_served_beside_the_probes(probes) -> None:
    _health, _clock, _readiness, url = probes
    metrics.READINGS_INGESTED.labels("probe-test").inc(3)
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert 'hazwatch_readings_ingested_total{source="probe-test"} 3.0' in response.text
