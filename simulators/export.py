"""Writers for reading files: what `hazwatch simulate export` produces and `hazwatch replay` reads back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hazwatch.batch import ReadingBatch
from hazwatch.recordings import FileFormat, format_of
from hazwatch.storage.lineprotocol import ReadingEncoder
from simulators.physics.site import Rendering

LONG_COLUMNS = ["time", "site", "sensor", "value", "quality"]
CHUNK_ROWS = 1 << 20


def write_rendering(rendering: Rendering, path: str | Path, wide: bool = False) -> int:
    """Write a rendered scenario by the path's extension; returns the rows written.

    Long files keep the arrival order (back-filled readings after the outage); a wide CSV has one
    row per time step and leaves undelivered cells empty, so it cannot show a back-fill.
    """
    path = Path(path)
    fmt = format_of(path)
    if wide:
        if fmt is not FileFormat.CSV:
            raise ValueError("the wide layout is for CSV files")
        return write_wide_csv(rendering, path)
    if fmt is FileFormat.LINE_PROTOCOL:
        return write_line_protocol(rendering, path)
    table = rendering.long_table()
    if fmt is FileFormat.CSV:
        write_long_csv(table, path)
    else:
        pq.write_table(table.select(LONG_COLUMNS), path, compression="zstd")
    return table.num_rows


def write_long_csv(table: pa.Table, path: Path) -> None:
    plain = table.select(LONG_COLUMNS)
    plain = plain.set_column(0, "time", _iso_time(plain.column("time")))
    for name in ("site", "sensor"):
        plain = plain.set_column(plain.schema.get_field_index(name), name, plain.column(name).cast(pa.string()))
    pacsv.write_csv(plain, path)


def write_wide_csv(rendering: Rendering, path: Path) -> int:
    r = rendering.readings
    delivered = ~np.isnan(r.arrival_s)
    values = np.where(delivered, r.values, np.nan)
    columns = {"time": _iso_time(pa.array(rendering.time_ns, type=pa.timestamp("ns", tz="UTC")))}
    for i, sensor in enumerate(rendering.sensors):
        columns[sensor] = pa.array(values[:, i], from_pandas=True)
    pacsv.write_csv(pa.table(columns), path)
    return int(delivered.sum())


def write_line_protocol(rendering: Rendering, path: Path) -> int:
    """InfluxDB line protocol in hazwatch's own schema, through the one encoder hazwatch writes with."""
    encoder = ReadingEncoder.for_tags(
        [("site", rendering.site), ("area", area), ("sensor", sensor), ("kind", kind)]
        for area, sensor, kind in zip(rendering.areas, rendering.sensors, rendering.kinds, strict=True)
    )
    rows, cols = rendering.delivered_order()
    readings = rendering.readings
    with path.open("wb") as out:
        for start in range(0, len(rows), CHUNK_ROWS):
            r, c = rows[start : start + CHUNK_ROWS], cols[start : start + CHUNK_ROWS]
            batch = ReadingBatch.from_columns(c, rendering.time_ns[r], readings.values[r, c], readings.quality[r, c])
            out.write(encoder.encode(batch))
    return len(rows)


def _iso_time(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """RFC 3339 text with milliseconds and Z (pyarrow's %S carries the fraction of the cast unit)."""
    return pc.strftime(column.cast(pa.timestamp("ms", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
