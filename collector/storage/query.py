"""The one reader of InfluxDB: InfluxQL over the v1 `/query` API, used by everything that reads back.

The status view, reports, `hazwatch alarms kpi`, the local test servers and the dashboards' query checks all
read through this class, so credentials, timeouts and error handling are decided once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx

from hazwatch.storage.schema import DATABASE

USER_ENV = "HAZWATCH_INFLUX_USER"
PASSWORD_ENV = "HAZWATCH_INFLUX_PASSWORD"


class InfluxQueryError(RuntimeError):
    """InfluxDB answered, but refused the statement."""


class InfluxQuery:
    """InfluxQL against one database; the first statement's series, with times in epoch nanoseconds."""

    def __init__(
        self,
        url: str,
        database: str = DATABASE,
        *,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.client = client or httpx.Client(timeout=timeout)
        user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
        self._auth = {"u": user, "p": password} if user and password else {}

    def series(self, statement: str, epoch: str = "ns") -> list[dict]:
        """`series` of the first statement ([] when it matched nothing); raises InfluxQueryError on a refusal."""
        response = self.client.get(
            f"{self.url}/query", params={"db": self.database, "q": statement, "epoch": epoch, **self._auth}
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
