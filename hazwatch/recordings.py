"""Which file format a path holds, by its extension."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    LINE_PROTOCOL = "lp"


_SUFFIXES = {
    ".csv": FileFormat.CSV,
    ".parquet": FileFormat.PARQUET,
    ".pq": FileFormat.PARQUET,
    ".lp": FileFormat.LINE_PROTOCOL,
    ".line": FileFormat.LINE_PROTOCOL,
    ".influx": FileFormat.LINE_PROTOCOL,
}


class ReplayFileError(ValueError):
    """A file that cannot be read as readings: the message says which file and why."""


def format_of(path: str | Path) -> FileFormat:
    suffixes = [s.lower() for s in Path(path).suffixes]
    for suffix in reversed(suffixes):
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    raise ReplayFileError(
        f"{path}: unknown file type; use .csv (long or wide), .parquet, or .lp/.line (InfluxDB line protocol)"
    )
