"""The InfluxDB v1 HTTP API writer (`/write`, `/query`) over httpx.

Speaks to InfluxDB 1.x and to the v1-compatible endpoints of 2.x and 3.x. On start it creates
the database, its retention policies and the 5-minute statistics query when the server allows
it; none of that is ever fatal, because storage must not stop the collector.
"""

from __future__ import annotations

import logging

import httpx

from collector.storage import retention
from collector.storage.influx_auth import InfluxCredentials
from collector.storage.writer import PayloadTooLarge, TransientWriteError, WriteResult, rejected_points
from collector.telemetry.logs import RateLimitedLog
from hazwatch.config.schema import InfluxSettings
from hazwatch.credentials import redact

log = logging.getLogger("hazwatch.influx")


class StatementError(Exception):
    """InfluxQL refused a statement (e.g. a 2.x v1 endpoint that has no retention-policy commands)."""


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text


class V1Writer:
    def __init__(self, settings: InfluxSettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.description = f"{redact(settings.url)} db={settings.database} (v1 API)"
        options = InfluxCredentials.from_settings(settings).httpx_options()
        self._client = httpx.AsyncClient(base_url=settings.url, timeout=timeout, **options)
        self._params = {"db": settings.database, "precision": "ns"}
        if settings.retention_policy:
            self._params["rp"] = settings.retention_policy
        self._rate_limited = RateLimitedLog(log)

    async def _query(self, statement: str) -> list[dict]:
        try:
            response = await self._client.post("/query", params={"db": self.settings.database}, data={"q": statement})
        except httpx.HTTPError as exc:
            raise TransientWriteError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise TransientWriteError(f"HTTP {response.status_code}: {_error_text(response)}")
        if response.status_code >= 300:
            raise StatementError(f"{statement!r}: HTTP {response.status_code}: {_error_text(response)}")
        result = response.json()["results"][0]
        if "error" in result:
            raise StatementError(f"{statement!r}: {result['error']}")
        return result.get("series", [])

    async def prepare(self) -> None:
        await self._query(retention.create_database(self.settings))
        try:
            database = retention.quote_identifier(self.settings.database)
            series = await self._query(f"SHOW RETENTION POLICIES ON {database}")
            existing = {row[0] for s in series for row in s.get("values", [])}
            for statement in retention.policy_statements(self.settings, existing):
                await self._query(statement)
            await self._create_continuous_query()
        except StatementError as exc:
            log.warning("retention or statistics set-up skipped: %s", exc)

    async def _create_continuous_query(self) -> None:
        try:
            await self._query(retention.continuous_query(self.settings))
        except StatementError as exc:
            if "already exists" not in str(exc):
                raise
            db = retention.quote_identifier(self.settings.database)
            await self._query(f"DROP CONTINUOUS QUERY {retention.quote_identifier(retention.STATS_QUERY_NAME)} ON {db}")
            await self._query(retention.continuous_query(self.settings))

    async def write(self, data: bytes, points: int) -> WriteResult:
        try:
            response = await self._client.post(
                "/write", params=self._params, content=data, headers={"Content-Type": "text/plain; charset=utf-8"}
            )
        except httpx.HTTPError as exc:
            raise TransientWriteError(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            return WriteResult()
        error = _error_text(response)
        if status == 404 and "database not found" in error:
            try:
                await self.prepare()
            except StatementError as exc:
                self._rate_limited.error("create-database", "cannot create the database: %s", exc)
            raise TransientWriteError(f"HTTP 404: {error}")
        if status == 413:
            raise PayloadTooLarge(error)
        if status in (400, 422):
            return WriteResult(rejected=rejected_points(error, points), error=error)
        raise TransientWriteError(f"HTTP {status}: {error}")

    async def aclose(self) -> None:
        await self._client.aclose()
