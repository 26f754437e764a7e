"""The InfluxDB v2 write API through influxdb-client, for InfluxDB 2.x, 3.x and Cloud users.

The client's synchronous write runs in a worker thread, so the event loop (and alarm delivery)
never waits for the network. Buckets, and with them retention, are made by the server's admin.
"""

from __future__ import annotations

import asyncio

import urllib3
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from collector.storage.influx_auth import InfluxCredentials
from collector.storage.writer import PayloadTooLarge, TransientWriteError, WriteResult, rejected_points
from hazwatch.config.schema import InfluxSettings
from hazwatch.credentials import redact


class V2Writer:
    def __init__(self, settings: InfluxSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.description = f"{redact(settings.url)} bucket={settings.bucket} org={settings.org} (v2 API)"
        credentials = InfluxCredentials.from_settings(settings)
        self._client = InfluxDBClient(
            url=settings.url,
            token=credentials.token or "",
            org=settings.org,
            timeout=int(timeout * 1000),
            ssl_ca_cert=settings.ca_file,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    async def prepare(self) -> None:
        """Nothing to create: a v2 token usually may write a bucket but not create one."""

    def _write_blocking(self, data: bytes) -> None:
        self._write_api.write(
            bucket=self.settings.bucket, org=self.settings.org, record=data, write_precision=WritePrecision.NS
        )

    async def write(self, data: bytes, points: int) -> WriteResult:
        try:
            await asyncio.to_thread(self._write_blocking, data)
        except ApiException as exc:
            body = exc.body.decode(errors="replace") if isinstance(exc.body, bytes) else str(exc.body or exc.reason)
            if exc.status == 413:
                raise PayloadTooLarge(body) from exc
            if exc.status in (400, 422):
                return WriteResult(rejected=rejected_points(body, points), error=body)
            raise TransientWriteError(f"HTTP {exc.status}: {body}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientWriteError(f"{type(exc).__name__}: {exc}") from exc
        return WriteResult()

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)
