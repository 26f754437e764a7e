"""What an InfluxDB writer promises the sink, whichever API it speaks.

The sink decides what to keep and what to retry from three outcomes: written (perhaps minus the
points the server refused as bad data), not now (`TransientWriteError`: keep it and retry), and
too large (`PayloadTooLarge`: send it in smaller pieces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

_DROPPED = re.compile(r"dropped=(\d+)")
_UNPARSABLE = re.compile(r"unable to parse")


class TransientWriteError(Exception):
    """The database could not take the request now (unreachable, 5xx, auth); keep the data and retry."""


class ServerMismatch(TransientWriteError):
    """The server is not what the config says (a 1.x server behind `api: v2`, a missing bucket).

    Still retried, so nothing is dropped while the operator fixes the config, but logged as an error
    that names the mismatch and the setting to change, not as an outage.
    """


class PayloadTooLarge(Exception):
    """The server refused the request body's size; smaller requests will pass."""


@dataclass(frozen=True)
class WriteResult:
    rejected: int = 0
    """Points the server refused as bad data; the rest of the request was stored."""
    error: str = ""


class InfluxWriter(Protocol):
    description: str

    async def prepare(self) -> None:
        """Create the database and its policies if the API allows it; raise TransientWriteError if unreachable."""

    async def write(self, data: bytes, points: int) -> WriteResult: ...

    async def aclose(self) -> None: ...


def rejected_points(error: str, points: int) -> int:
    """How many points a 4xx answer refused: InfluxDB 1.x says `dropped=N` and names each unparsable line.

    Without either, the whole request counts as refused.
    """
    dropped = sum(int(n) for n in _DROPPED.findall(error)) + len(_UNPARSABLE.findall(error))
    return min(dropped, points) if dropped else points
