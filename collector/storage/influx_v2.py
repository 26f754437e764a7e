"""The InfluxDB v2 write API through influxdb-client, for InfluxDB 2.x, 3.x and Cloud users.

The client's synchronous write runs in a worker thread, so the event loop (and alarm delivery)
never waits for the network. Buckets, and with them retention, are made by the server's admin.
"""

from __future__ import annotations

import asyncio
import logging
import re

import urllib3
from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from collector.storage.influx_auth import InfluxCredentials
from collector.storage.writer import (
    PayloadTooLarge,
    ServerMismatch,
    TransientWriteError,
    WriteResult,
    rejected_points,
)
from hazwatch.config.schema import InfluxSettings
from hazwatch.credentials import redact

log = logging.getLogger("hazwatch.influx")

_VERSION = re.compile(r"(\d+)\.(\d+)")
FIRST_1X_WITH_V2_WRITE = (1, 8)
"""InfluxDB 1.8 added the /api/v2/write compatibility endpoint; older 1.x servers answer it 404."""


def _one_x_without_v2(version: str) -> bool:
    found = _VERSION.match(version.lstrip("v"))
    return found is not None and found.group(1) == "1" and (1, int(found.group(2))) < FIRST_1X_WITH_V2_WRITE


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

    def _no_v2_api(self, answer: str) -> ServerMismatch:
        return ServerMismatch(
            f"{self.settings.url} has no InfluxDB v2 write API ({answer}): it is an InfluxDB 1.x server; set "
            "`influxdb.api: v1` (and `influxdb.database`) in the config, or point `influxdb.url` at InfluxDB 2.x/3.x"
        )

    async def prepare(self) -> None:
        """Nothing to create (a v2 token usually may write a bucket but not create one); refuse a 1.x server.

        A 1.x server before 1.8 answers every v2 write 404, which would otherwise read as an outage.
        Servers that hide their version (auth on /ping, proxies) are left to the first write to tell.
        """
        try:
            version = await asyncio.to_thread(self._client.version)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.debug("InfluxDB %s: version not known before the first write (%s)", self.description, exc)
            return
        if _one_x_without_v2(version):
            raise self._no_v2_api(f"it reports version {version}, and /api/v2/write needs 1.8 or later")

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
            if exc.status == 404 and "bucket" in body:
                raise ServerMismatch(
                    f"{body.strip()}: create bucket {self.settings.bucket!r} in org {self.settings.org!r} "
                    "or set `influxdb.bucket` / `influxdb.org`"
                ) from exc
            if exc.status == 404:
                raise self._no_v2_api(f"POST /api/v2/write answered 404 {body.strip()[:80]!r}") from exc
            raise TransientWriteError(f"HTTP {exc.status}: {body}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientWriteError(f"{type(exc).__name__}: {exc}") from exc
        return WriteResult()

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)
