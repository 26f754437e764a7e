"""InfluxSink and the InfluxDB readers against a real influxd with `auth-enabled = true` serving HTTPS only
(certificate of the site's own CA): the hardened database of docs/security.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from influx_helpers import awkward_batch, drain

from collector.app.localservices import LocalInfluxd, free_port
from collector.storage.influx import InfluxSink
from collector.storage.influx_auth import InfluxCredentials
from collector.storage.kpi_influx import read_alarm_records
from collector.storage.query import InfluxQuery
from collector.views.status import InfluxSnapshot
from hazwatch.batch import ReadingBatch
from hazwatch.config import SensorRegistry
from hazwatch.config.schema import InfluxSettings
from tests.support.tls import Pki, make_pki

ADMIN, PASSWORD = "hazwatch-admin", "influx-password-a81c7d"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def secure_influxd(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInfluxd]:
    server = LocalInfluxd(
        port=free_port(), data_dir=tmp_path_factory.mktemp("influxd"), admin=(ADMIN, PASSWORD), tls=pki.server
    )
    server.start()
    yield server
    server.stop()


def secure_settings(server: LocalInfluxd, pki: Pki, tmp_path: Path, database: str, **extra: str) -> InfluxSettings:
    return InfluxSettings(
        url=server.url,
        database=database,
        ca_file=str(pki.ca_file),
        batch_size=1000,
        flush_interval=0.1,
        spool_dir=str(tmp_path / "spool"),
        **extra,
    )


def count(server: LocalInfluxd, database: str) -> int:
    databases = server.query("SHOW DATABASES")
    if [database] not in (databases[0].get("values") or []):
        return 0
    series = server.query("SELECT count(value) FROM readings", database=database)
    return series[0]["values"][0][1] if series else 0


def test_readings_are_stored_over_https_with_the_user_and_password_from_the_environment(
    registry: SensorRegistry, secure_influxd: LocalInfluxd, pki: Pki, tmp_path: Path, monkeypatch
) -> None:
    assert secure_influxd.url.startswith("https://")
    monkeypatch.setenv("HAZWATCH_INFLUX_USER", ADMIN)
    monkeypatch.setenv("HAZWATCH_INFLUX_PASSWORD", PASSWORD)
    batch = awkward_batch(registry, rows_per_sensor=5)
    sink = InfluxSink(secure_settings(secure_influxd, pki, tmp_path, "hw_env"), registry)
    sink.submit(batch)
    asyncio.run(drain(sink))
    assert count(secure_influxd, "hw_env") == len(batch)


def test_the_password_can_come_from_a_file(
    registry: SensorRegistry, secure_influxd: LocalInfluxd, pki: Pki, tmp_path: Path, monkeypatch
) -> None:
    secret = tmp_path / "influx-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    monkeypatch.setenv("HAZWATCH_INFLUX_USER", ADMIN)
    monkeypatch.delenv("HAZWATCH_INFLUX_PASSWORD", raising=False)
    batch = awkward_batch(registry, rows_per_sensor=2)
    settings = secure_settings(secure_influxd, pki, tmp_path, "hw_file", password_file=str(secret))
    sink = InfluxSink(settings, registry)
    sink.submit(batch)
    asyncio.run(drain(sink))
    assert count(secure_influxd, "hw_file") == len(batch)


async def _run_for(sink: InfluxSink, seconds: float) -> int:
    task = asyncio.create_task(sink.run())
    await asyncio.sleep(seconds)
    backlog = sink.backlog
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await sink.close()
    return backlog


@pytest.mark.parametrize("refused", ["a wrong password", "a server certificate of another CA"])
def test_with_refused_credentials_or_certificate_nothing_is_stored_and_nothing_is_dropped(
    refused, registry: SensorRegistry, secure_influxd: LocalInfluxd, pki: Pki, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HAZWATCH_INFLUX_USER", ADMIN)
    monkeypatch.setenv("HAZWATCH_INFLUX_PASSWORD", "wrong-password" if refused == "a wrong password" else PASSWORD)
    database = "hw_refused_pw" if refused == "a wrong password" else "hw_refused_ca"
    settings = secure_settings(secure_influxd, pki, tmp_path, database)
    if refused != "a wrong password":
        settings = settings.model_copy(update={"ca_file": str(pki.other_ca_file)})
    batch = awkward_batch(registry, rows_per_sensor=2)
    sink = InfluxSink(settings, registry)
    sink.submit(batch)
    backlog = asyncio.run(_run_for(sink, 2.0))
    spooled = sum(1 for _ in (tmp_path / "spool").glob("*")) if (tmp_path / "spool").exists() else 0
    assert backlog == len(batch) or spooled, "the refused points are kept (memory or spool) for a retry"
    assert count(secure_influxd, database) == 0


def test_status_view_and_alarm_kpis_read_an_https_influxdb_with_auth(
    registry: SensorRegistry, secure_influxd: LocalInfluxd, pki: Pki, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HAZWATCH_INFLUX_USER", ADMIN)
    monkeypatch.setenv("HAZWATCH_INFLUX_PASSWORD", PASSWORD)
    now = time.time_ns()
    slots = np.arange(len(registry))
    batch = ReadingBatch.from_columns(slots, now - 1_000_000_000 + slots, np.ones(len(slots)), 0)
    sink = InfluxSink(secure_settings(secure_influxd, pki, tmp_path, "hw_views"), registry)
    sink.submit(batch)
    asyncio.run(drain(sink))

    credentials = InfluxCredentials(ADMIN, PASSWORD, None, str(pki.ca_file))
    snapshot = InfluxSnapshot(InfluxQuery(secure_influxd.url, "hw_views", credentials=credentials))
    assert {s.sensor for s in snapshot.sensors()} == {info.sensor for info in registry}
    assert read_alarm_records(secure_influxd.url, "hw_views", 1.0, credentials) == []
    anonymous = InfluxCredentials(ca_file=str(pki.ca_file))
    unauthenticated = InfluxSnapshot(InfluxQuery(secure_influxd.url, "hw_views", credentials=anonymous))
    with pytest.raises(Exception, match="401"):
        unauthenticated.sensors()
