"""Writers for reading files: what `hazwatch simulate export` produces and `hazwatch replay` reads back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hazwatch.recordings import FileFormat, format_of
from simulators.physics.site import Rendering

LONG_COLUMNS = ["time", "site", "sensor", "value", "quality"]


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
    table = rendering.long_table()
    if fmt is FileFormat.CSV:
        write_long_csv(table, path)
    elif fmt is FileFormat.PARQUET:
        pq.write_table(table.select(LONG_COLUMNS), path, compression="zstd")
    else:
        write_line_protocol(table, path)
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


def write_line_protocol(table: pa.Table, path: Path) -> None:
    """InfluxDB line protocol in hazwatch's own schema: readings,site,area,sensor,kind value,quality ns."""
    with path.open("wb") as out:
        for batch in table.to_batches(max_chunksize=1 << 20):
            out.write(_line_protocol_bytes(batch))


def _line_protocol_bytes(batch: pa.RecordBatch) -> bytes:
    def text(name: str) -> pa.Array:
        return batch.column(name).cast(pa.string())

    value = batch.column("value")
    finite = pc.is_finite(value)
    value_field = pc.if_else(
        finite, pc.binary_join_element_wise("value=", pc.cast(value, pa.string()), ",", ""), pa.scalar("", pa.string())
    )
    time_ns = pc.cast(batch.column("time"), pa.int64())
    lines = pc.binary_join_element_wise(
        "readings,site=",
        text("site"),
        ",area=",
        text("area"),
        ",sensor=",
        text("sensor"),
        ",kind=",
        text("kind"),
        " ",
        value_field,
        "quality=",
        pc.cast(batch.column("quality"), pa.string()),
        "i ",
        pc.cast(time_ns, pa.string()),
        "\n",
        "",
    )
    # The joined strings sit back to back in one buffer: that buffer is the file's text.
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def _iso_time(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """RFC 3339 text with milliseconds and Z (pyarrow's %S carries the fraction of the cast unit)."""
    return pc.strftime(column.cast(pa.timestamp("ms", tz="UTC")), format="%Y-%m-%dT%H:%M:%SZ")
