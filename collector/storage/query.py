"""The one reader of InfluxDB: InfluxQL over the v1 `/query` API, used by everything that reads back.

The status view, reports, `hazwatch alarms kpi` and the local test servers all read through this class, so
credentials (basic auth or a token, never in the URL), TLS, timeouts and error handling are decided once.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from collector.storage.influx_auth import InfluxCredentials
from hazwatch.config.schema import InfluxSettings
from hazwatch.storage.schema import DATABASE


class InfluxQueryError(RuntimeError):
    """InfluxDB answered, but refused the statement."""


class InfluxQuery:
    """InfluxQL against one database; the first statement's series, with times in epoch nanoseconds."""

    def __init__(
        self,
        url: str,
        database: str = DATABASE,
        *,
        credentials: InfluxCredentials | None = None,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        """Credentials default to what `hazwatch run` reads (HAZWATCH_INFLUX_USER/_PASSWORD/_TOKEN)."""
        self.url = url.rstrip("/")
        self.database = database
        if client is None:
            credentials = credentials or InfluxCredentials.from_settings(InfluxSettings())
            client = httpx.Client(timeout=timeout, **credentials.httpx_options())
        self.client = client

    @classmethod
    def for_settings(cls, settings: InfluxSettings, timeout: float = 30.0) -> InfluxQuery:
        """The database `hazwatch run` writes to, with the credentials it writes with."""
        credentials = InfluxCredentials.from_settings(settings)
        return cls(settings.url, settings.database, credentials=credentials, timeout=timeout)

    def series(self, statement: str, epoch: str = "ns") -> list[dict]:
        """`series` of the first statement ([] when it matched nothing); raises InfluxQueryError on a refusal."""
        response = self.client.get(
            f"{self.url}/query", params={"db": self.database, "q": statement, "epoch": epoch}
        )
        response.raise_for_status()
        result = response.json()["results"][0]
        if "error" in result:
            raise InfluxQueryError(f"InfluxDB refused {statement!r}: {result['error']}")
        return result.get("series", [])

    def records(self, statement: str) -> Iterator[dict]:
        """Each row as a dict of its columns, with the series' GROUP BY tags merged in."""
        for series in self.series(statement):
            tags = series.get("tags", {})
            columns = series["columns"]
            for row in series["values"]:
                yield tags | dict(zip(columns, row, strict=True))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> InfluxQuery:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
